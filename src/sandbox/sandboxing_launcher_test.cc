#include "sandbox/sandboxing_launcher.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

namespace hearth {
namespace {

namespace fs = std::filesystem;

// Where the launcher makes `parent` in the hierarchy of `controller` ("unified" for v2): below
// this process's own group there, as /proc/self/cgroup gives it.
fs::path groupDir(const std::string& controller, const std::string& parent) {
  std::ifstream membership("/proc/self/cgroup");
  std::string own;
  for (std::string line; std::getline(membership, line);) {
    size_t first = line.find(':');
    size_t second = line.find(':', first + 1);
    std::string controllers = line.substr(first + 1, second - first - 1);
    bool match = controller == "unified"
                     ? controllers.empty()
                     : ("," + controllers + ",").find("," + controller + ",") != std::string::npos;
    if (match) {
      own = line.substr(second + 1);
    }
  }
  return fs::path("/sys/fs/cgroup") / controller / fs::path(own).relative_path() / parent;
}

// A sandboxing launcher for the whole suite; as root it must work (the suite runs as root in
// CI), otherwise the suite is skipped with the reason.
class SandboxingLauncherTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    base_ = fs::temp_directory_path() / ("hearth-sandbox-test-" + std::to_string(::getpid()));
    fs::create_directories(base_ / "code");
    std::ofstream(base_ / "code" / "app.txt") << "the function's code\n";
    fs::permissions(base_, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                               fs::perms::others_read | fs::perms::others_exec);
    SandboxingLauncherOptions options;
    options.staging_root = (base_ / "root").string();
    options.cgroup_parent = "hearth-test-" + std::to_string(::getpid());
    options.join_instance_group = false;
    cgroup_parent_ = options.cgroup_parent;
    auto launcher = makeSandboxingLauncher(options);
    if (launcher.isOk()) {
      launcher_ = std::move(launcher).value().release();
    } else {
      failure_ = launcher.status().toString();
    }
  }
  static void TearDownTestSuite() {
    delete launcher_;
    launcher_ = nullptr;
    fs::remove_all(base_);
    for (const char* controller : {"memory", "cpu", "cpuacct", "pids", "unified"}) {
      ::rmdir(groupDir(controller, cgroup_parent_).c_str());
    }
  }
  void SetUp() override {
    if (launcher_ == nullptr) {
      if (::geteuid() != 0) {
        GTEST_SKIP() << "sandboxes need root: " << failure_;
      }
      FAIL() << "running as root, yet: " << failure_;
    }
  }

  struct Run {
    int exit_code = -1;
    std::string out;
    std::string err;
    bool out_of_memory = false;
  };
  // Runs `script` with /bin/sh in a sandbox to its end.
  static Run run(const std::string& script, int64_t memory = 256 << 20, int vcpus = 1) {
    LaunchSpec spec;
    spec.id = "test-ee";
    spec.argv = {"/bin/sh", "-c", script};
    spec.env = {{"PATH", "/usr/local/bin:/usr/bin:/bin"}};
    spec.working_dir = "/var/task";
    spec.memory_limit_bytes = memory;
    spec.vcpus = vcpus;
    spec.pids_limit = 64;
    spec.tmp_bytes = 8 << 20;
    spec.mounts = {{(base_ / "code").string(), "/var/task"}};
    std::mutex mu;
    std::condition_variable cv;
    Run result;
    bool done = false;
    auto sandbox = launcher_->launch(
        spec,
        [&](OutputStream stream, std::string line) {
          std::lock_guard lock(mu);
          (stream == OutputStream::kStdout ? result.out : result.err) += line + "\n";
        },
        [&](int code) {
          std::lock_guard lock(mu);
          result.exit_code = code;
          done = true;
          cv.notify_all();
        });
    EXPECT_TRUE(sandbox.isOk()) << sandbox.status().toString();
    if (!sandbox.isOk()) {
      return result;
    }
    std::unique_lock lock(mu);
    EXPECT_TRUE(cv.wait_for(lock, std::chrono::seconds(60), [&] { return done; }));
    result.out_of_memory = (*sandbox)->outOfMemory();
    return result;
  }

  static inline fs::path base_;
  static inline std::string cgroup_parent_;
  static inline SandboxLauncher* launcher_ = nullptr;
  static inline std::string failure_;
};

TEST_F(SandboxingLauncherTest, RunsUnprivilegedWithoutCapabilitiesUnderSeccomp) {
  Run r =
      run("id -u; id -g; grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("993\n990\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapEff:\t0000000000000000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapPrm:\t0000000000000000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("CapBnd:\t0000000000000000"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("NoNewPrivs:\t1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Seccomp:\t2"), std::string::npos) << r.out;
}

TEST_F(SandboxingLauncherTest, SeesOnlyItsOwnProcessesAndItsOwnHostName) {
  Run r = run("ls /proc | grep -E '^[0-9]+$' | wc -l; hostname; cat /proc/1/comm 2>&1 | head -1");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  // init, the shell, ls, grep and wc: a handful, not the host's hundreds.
  int processes = std::stoi(r.out);
  EXPECT_GE(processes, 2);
  EXPECT_LE(processes, 8) << r.out;
  EXPECT_NE(r.out.find("sandbox\n"), std::string::npos) << r.out;
}

TEST_F(SandboxingLauncherTest, ReadOnlyEverywhereButTmpAndTheCodeAtVarTask) {
  Run r =
      run("cat /var/task/app.txt; pwd;"
          "touch /var/task/x 2>/dev/null && echo task-writable;"
          "touch /usr/x 2>/dev/null && echo usr-writable;"
          "touch /etc/x 2>/dev/null && echo etc-writable;"
          "touch /x 2>/dev/null && echo root-writable;"
          "echo hi > /tmp/x && cat /tmp/x;"
          "test -e /etc/shadow && echo shadow-visible;"
          "df -k /tmp | tail -1");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("the function's code\n/var/task\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("writable"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("shadow-visible"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hi\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" 8192 "), std::string::npos) << r.out;  // /tmp is 8 MiB
}

TEST_F(SandboxingLauncherTest, CannotMountOrSetTheHostName) {
  Run r =
      run("mount -t tmpfs none /tmp 2>/dev/null && echo mounted;"
          "hostname evil 2>/dev/null && echo renamed; hostname;"
          "unshare -U true 2>/dev/null && echo unshared; echo done");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "sandbox\ndone\n");
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  EXPECT_STRNE(host, "evil");
}

TEST_F(SandboxingLauncherTest, MemoryLimitKillsAndIsReportedAsOutOfMemory) {
  Run r = run("exec python3 -c 'x = b\"x\" * 200000000; print(\"survived\")'", 64 << 20);
  EXPECT_NE(r.exit_code, 0) << r.out;
  EXPECT_TRUE(r.out_of_memory) << "exit " << r.exit_code << " out " << r.out;
  Run fine = run("echo ok", 64 << 20);
  EXPECT_EQ(fine.exit_code, 0);
  EXPECT_FALSE(fine.out_of_memory);
}

TEST_F(SandboxingLauncherTest, PidsLimitStopsAForkBomb) {
  Run r =
      run("i=0; while [ $i -lt 200 ]; do sleep 5 & i=$((i+1)); done 2>/dev/null; "
          "jobs -p | wc -l");
  // pids.max is 64: the shell cannot have 200 children.
  EXPECT_LT(std::stoi(r.out.empty() ? "0" : r.out), 64) << r.out << r.err;
}

TEST_F(SandboxingLauncherTest, RuntimeApiListenerLivesInTheSandboxNetwork) {
  LaunchSpec spec;
  spec.id = "rapi";
  spec.argv = {"/bin/sh", "-c", "exec cat < /dev/tcp/127.0.0.1/9001 2>/dev/null; sleep 30"};
  spec.env = {{"PATH", "/usr/bin:/bin"}};
  spec.working_dir = "/";
  spec.memory_limit_bytes = 64 << 20;
  spec.runtime_api_port = 9001;
  auto sandbox = launcher_->launch(
      spec, [](OutputStream, std::string) {}, [](int) {});
  ASSERT_TRUE(sandbox.isOk()) << sandbox.status().toString();
  int listener = (*sandbox)->takeRuntimeApiListener();
  ASSERT_GE(listener, 0);
  EXPECT_EQ((*sandbox)->takeRuntimeApiListener(), -1);  // handed over once
  sockaddr_in address{};
  socklen_t length = sizeof address;
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  EXPECT_EQ(ntohs(address.sin_port), 9001);
  // The host's 127.0.0.1:9001 is not the sandbox's: nothing listens there for the host.
  int probe = ::socket(AF_INET, SOCK_STREAM, 0);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_NE(::connect(probe, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  ::close(probe);
  ::close(listener);
  (*sandbox)->terminate(std::chrono::milliseconds(0));
}

// Counts what sandboxes could leave behind on the host: our cgroups, mounts in the host's mount
// table, hearth-init processes and network namespaces held by any process.
struct HostResidue {
  size_t cgroups = 0;
  size_t mounts = 0;
  size_t inits = 0;
  size_t net_namespaces = 0;
  size_t links = 0;  // network interfaces of the host
  bool operator==(const HostResidue&) const = default;
};
HostResidue hostResidue(const std::string& cgroup_parent) {
  HostResidue residue;
  for (const char* controller : {"memory", "cpu", "cpuacct", "pids", "unified"}) {
    fs::path dir = groupDir(controller, cgroup_parent);
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
         it.increment(ec)) {
      residue.cgroups += it->is_directory() && it.depth() >= 1 ? 1 : 0;  // EE groups
    }
  }
  std::ifstream mountinfo("/proc/self/mountinfo");
  for (std::string line; std::getline(mountinfo, line);) {
    ++residue.mounts;
  }
  std::set<std::string> namespaces;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::ifstream comm(entry.path() / "comm");
    std::string command;
    std::getline(comm, command);
    residue.inits += command == "hearth-init" ? 1 : 0;
    std::error_code ec;
    auto ns = fs::read_symlink(entry.path() / "ns" / "net", ec);
    if (!ec) {
      namespaces.insert(ns.string());
    }
  }
  residue.net_namespaces = namespaces.size();
  for ([[maybe_unused]] const auto& link : fs::directory_iterator("/sys/class/net")) {
    ++residue.links;
  }
  return residue;
}

// `/bin/true` in a sandbox, and its exit.
struct TrueRun {
  std::mutex mu;
  std::condition_variable cv;
  bool exited = false;

  auto launch(SandboxLauncher* launcher, std::string id) {
    LaunchSpec spec;
    spec.id = std::move(id);
    spec.argv = {"/bin/true"};
    spec.working_dir = "/";
    spec.memory_limit_bytes = 64 << 20;
    spec.runtime_api_port = 9001;
    return launcher->launch(
        spec, [](OutputStream, std::string) {},
        [this](int) {
          std::lock_guard lock(mu);
          exited = true;
          cv.notify_all();
        });
  }
  // Whether it exited within 10 s.
  bool waitExit() {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(10), [this] { return exited; });
  }
};

// 1,000 sandboxes created and destroyed leave no process, mount, cgroup or network namespace.
TEST_F(SandboxingLauncherTest, ThousandCyclesLeaveNothingBehind) {
  // (The instance's group, one per controller, stays for the launcher's life.)
  HostResidue before = hostResidue(cgroup_parent_);
  for (int i = 0; i < 1000; ++i) {
    TrueRun run;
    auto sandbox = run.launch(launcher_, "cycle-" + std::to_string(i));
    ASSERT_TRUE(sandbox.isOk()) << i << ": " << sandbox.status().toString();
    ::close((*sandbox)->takeRuntimeApiListener());
    // Every tenth one is killed while it may still be starting.
    if (i % 10 == 0) {
      (*sandbox)->terminate(std::chrono::milliseconds(0));
    }
    ASSERT_TRUE(run.waitExit()) << i;
  }
  // The kernel dismantles dead network namespaces (and their links) asynchronously.
  HostResidue after = hostResidue(cgroup_parent_);
  for (int wait = 0; wait < 100 && after.links > before.links; ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    after = hostResidue(cgroup_parent_);
  }
  EXPECT_EQ(after.cgroups, 0u);
  EXPECT_EQ(after.mounts, before.mounts);
  EXPECT_EQ(after.inits, 0u);
  EXPECT_LE(after.net_namespaces, before.net_namespaces);
  EXPECT_LE(after.links, before.links);
}

// The launcher forks from a process whose other threads allocate all the time (an agent's do):
// no launch may hang on an allocator lock another thread held at the fork.
TEST_F(SandboxingLauncherTest, LaunchesWhileOtherThreadsAllocate) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> allocators;
  for (int t = 0; t < 2; ++t) {
    allocators.emplace_back([&stop] {
      std::vector<std::string> churn(64);
      for (size_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        churn[i % churn.size()] = std::string(64 + i % 4096, 'x');
      }
    });
  }
  bool all_exited = true;
  for (int i = 0; i < 200 && all_exited; ++i) {
    TrueRun run;
    auto sandbox = run.launch(launcher_, "busy-" + std::to_string(i));
    ASSERT_TRUE(sandbox.isOk()) << i << ": " << sandbox.status().toString();
    ::close((*sandbox)->takeRuntimeApiListener());
    all_exited = run.waitExit();
    EXPECT_TRUE(all_exited) << "launch " << i << " never exited";
    if (!all_exited) {
      (*sandbox)->terminate(std::chrono::milliseconds(0));
    }
  }
  stop = true;
  for (auto& allocator : allocators) {
    allocator.join();
  }
}

// Egress: a server of the instance (a host socket on 0.0.0.0) is reachable from the EE at
// 169.254.1.1; a loopback-only host socket is not.
TEST_F(SandboxingLauncherTest, ReachesItsInstanceButNotTheHostsLoopback) {
  auto listen = [](uint32_t address) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in bound{};
    bound.sin_family = AF_INET;
    bound.sin_addr.s_addr = htonl(address);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&bound), sizeof bound), 0);
    EXPECT_EQ(::listen(fd, 16), 0);
    socklen_t length = sizeof bound;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &length);
    return std::pair{fd, ntohs(bound.sin_port)};
  };
  auto [instance_fd, instance_port] = listen(INADDR_ANY);
  auto [loopback_fd, loopback_port] = listen(INADDR_LOOPBACK);
  std::string script =
      "exec python3 -c \"import socket\n"
      "for port in (" +
      std::to_string(instance_port) + ", " + std::to_string(loopback_port) +
      "):\n"
      "    s = socket.socket(); s.settimeout(3)\n"
      "    try:\n"
      "        s.connect(('169.254.1.1', port)); print('connected')\n"
      "    except OSError as e:\n"
      "        print(type(e).__name__)\n\"";
  Run r = run(script);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "connected\nConnectionRefusedError\n") << r.err;
  ::close(instance_fd);
  ::close(loopback_fd);
}

TEST_F(SandboxingLauncherTest, AMissingExecutableIsAClearError) {
  LaunchSpec spec;
  spec.id = "missing";
  spec.argv = {"/var/task/bootstrap"};
  spec.working_dir = "/var/task";
  spec.mounts = {{(base_ / "code").string(), "/var/task"}};
  auto sandbox = launcher_->launch(
      spec, [](OutputStream, std::string) {}, [](int) {});
  ASSERT_FALSE(sandbox.isOk());
  EXPECT_EQ(sandbox.status().code(), StatusCode::kInvalidParameter);
  EXPECT_NE(sandbox.status().message().find("/var/task/bootstrap"), std::string::npos);
}

}  // namespace
}  // namespace hearth
