#include "sandbox/process_launcher.h"

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace hearth {
namespace {

using namespace std::chrono_literals;

constexpr auto kTimeout = 60s;

// Collects the callbacks of one sandbox. Shared with the callbacks, so it outlives them.
struct Recorder {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> out;
  std::vector<std::string> err;
  int exit_code = -1000;
  int exit_calls = 0;
  bool output_after_exit = false;

  static std::shared_ptr<Recorder> make() { return std::make_shared<Recorder>(); }

  bool waitExit() {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, kTimeout, [this] { return exit_calls > 0; });
  }
  bool waitStdoutLines(size_t n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, kTimeout, [this, n] { return out.size() >= n; });
  }
  std::vector<std::string> stdoutLines() {
    std::lock_guard lock(mu);
    return out;
  }
  int exitCalls() {
    std::lock_guard lock(mu);
    return exit_calls;
  }
};

OutputCallback outputTo(const std::shared_ptr<Recorder>& rec) {
  return [rec](OutputStream stream, std::string line) {
    std::lock_guard lock(rec->mu);
    if (rec->exit_calls > 0) {
      rec->output_after_exit = true;
    }
    (stream == OutputStream::kStdout ? rec->out : rec->err).push_back(std::move(line));
    rec->cv.notify_all();
  };
}

ExitCallback exitTo(const std::shared_ptr<Recorder>& rec) {
  return [rec](int code) {
    std::lock_guard lock(rec->mu);
    rec->exit_code = code;
    ++rec->exit_calls;
    rec->cv.notify_all();
  };
}

LaunchSpec shSpec(const std::string& script) {
  LaunchSpec spec;
  spec.id = "test-ee";
  spec.argv = {"/bin/sh", "-c", script};
  spec.env = {{"PATH", "/usr/bin:/bin"}};
  spec.working_dir = "/";
  return spec;
}

// True when `pid` exists and is not a zombie.
bool isRunning(pid_t pid) {
  if (::kill(pid, 0) != 0) {
    return false;
  }
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string content((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t paren = content.rfind(')');
  return paren == std::string::npos || paren + 2 >= content.size() || content[paren + 2] != 'Z';
}

// Waits until `pid` has exited (is gone or a zombie). A killed process closes its descriptors
// before it finishes exiting, so it may still be running briefly after its sandbox's on_exit.
bool waitGone(pid_t pid) {
  int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) {
    return errno == ESRCH;
  }
  pollfd wait{fd, POLLIN, 0};
  int ready = ::poll(&wait, 1, static_cast<int>(kTimeout / 1ms));
  ::close(fd);
  return ready == 1;
}

class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "hearth-sandbox-XXXXXX");
    path_ = ::mkdtemp(pattern.data()) != nullptr ? pattern : "";
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

class ProcessLauncherTest : public ::testing::Test {
 protected:
  // Launches `spec` and asserts success.
  SandboxPtr start(const LaunchSpec& spec, const std::shared_ptr<Recorder>& rec) {
    Result<SandboxPtr> sandbox = launcher_->launch(spec, outputTo(rec), exitTo(rec));
    EXPECT_TRUE(sandbox.isOk()) << sandbox.status().toString();
    return sandbox.isOk() ? std::move(sandbox).value() : nullptr;
  }

  // Runs `script` to completion and returns its recorder.
  std::shared_ptr<Recorder> run(const std::string& script) {
    auto rec = Recorder::make();
    SandboxPtr sandbox = start(shSpec(script), rec);
    EXPECT_NE(sandbox, nullptr);
    EXPECT_TRUE(rec->waitExit()) << script;
    return rec;
  }

  SandboxLauncherPtr launcher_ = ProcessLauncher::makeProcessLauncher();
};

TEST_F(ProcessLauncherTest, EnvironmentIsExactlyTheSpec) {
  LaunchSpec spec = shSpec("env");
  spec.env = {{"PATH", "/usr/bin:/bin"}, {"HEARTH_A", "1"}, {"HEARTH_B", "two words"}};
  auto rec = Recorder::make();
  SandboxPtr sandbox = start(spec, rec);
  ASSERT_TRUE(rec->waitExit());
  EXPECT_EQ(rec->exit_code, 0);

  std::map<std::string, std::string> seen;
  for (const auto& line : rec->out) {
    size_t eq = line.find('=');
    ASSERT_NE(eq, std::string::npos) << line;
    seen[line.substr(0, eq)] = line.substr(eq + 1);
  }
  const std::set<std::string> added_by_sh = {"PWD", "OLDPWD", "SHLVL", "_"};
  for (const auto& [key, value] : seen) {
    EXPECT_TRUE(spec.env.count(key) == 1 || added_by_sh.count(key) == 1) << "unexpected " << key;
  }
  for (const auto& [key, value] : spec.env) {
    EXPECT_EQ(seen[key], value) << key;
  }
}

TEST_F(ProcessLauncherTest, WorkingDirectoryIsHonoured) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string canonical = std::filesystem::canonical(dir.path());

  LaunchSpec spec = shSpec("pwd -P");
  spec.working_dir = dir.path();
  auto rec = Recorder::make();
  SandboxPtr sandbox = start(spec, rec);
  ASSERT_TRUE(rec->waitExit());
  EXPECT_EQ(rec->out, std::vector<std::string>{canonical});

  // A relative argv[0] is relative to working_dir.
  const std::string script = dir.path() + "/bootstrap";
  {
    std::ofstream file(script);
    file << "#!/bin/sh\necho bootstrap ran\n";
  }
  ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
  LaunchSpec relative;
  relative.argv = {"./bootstrap"};
  relative.working_dir = dir.path();
  auto rec2 = Recorder::make();
  SandboxPtr sandbox2 = start(relative, rec2);
  ASSERT_TRUE(rec2->waitExit());
  EXPECT_EQ(rec2->exit_code, 0);
  EXPECT_EQ(rec2->out, std::vector<std::string>{"bootstrap ran"});
}

TEST_F(ProcessLauncherTest, StdoutAndStderrAreSeparateAndOrdered) {
  auto rec = run("i=1; while [ $i -le 300 ]; do echo out$i; echo err$i >&2; i=$((i+1)); done");
  EXPECT_EQ(rec->exit_code, 0);
  ASSERT_EQ(rec->out.size(), 300u);
  ASSERT_EQ(rec->err.size(), 300u);
  for (int i = 0; i < 300; ++i) {
    EXPECT_EQ(rec->out[i], "out" + std::to_string(i + 1));
    EXPECT_EQ(rec->err[i], "err" + std::to_string(i + 1));
  }
  EXPECT_FALSE(rec->output_after_exit);
}

TEST_F(ProcessLauncherTest, LongLinesAreSplitAt16KiB) {
  auto rec =
      run("head -c 40000 /dev/zero | tr '\\0' a; echo;"
          "head -c 16384 /dev/zero | tr '\\0' b; echo;"
          "head -c 16385 /dev/zero | tr '\\0' c >&2; echo >&2;"
          "echo end");
  EXPECT_EQ(rec->exit_code, 0);
  EXPECT_EQ(rec->out, (std::vector<std::string>{std::string(16384, 'a'), std::string(16384, 'a'),
                                                std::string(40000 - 2 * 16384, 'a'),
                                                std::string(16384, 'b'), "end"}));
  EXPECT_EQ(rec->err, (std::vector<std::string>{std::string(16384, 'c'), "c"}));
}

TEST_F(ProcessLauncherTest, PartialLastLineIsDelivered) {
  auto rec = run("printf '\\n\\none\\ntwo'; printf 'e1\\ne2' >&2");
  EXPECT_EQ(rec->exit_code, 0);
  EXPECT_EQ(rec->out, (std::vector<std::string>{"", "", "one", "two"}));
  EXPECT_EQ(rec->err, (std::vector<std::string>{"e1", "e2"}));
  EXPECT_FALSE(rec->output_after_exit);
}

TEST_F(ProcessLauncherTest, StdinIsDevNull) {
  auto rec = run("if read line; then echo got; else echo eof; fi");
  EXPECT_EQ(rec->out, std::vector<std::string>{"eof"});
}

TEST_F(ProcessLauncherTest, OnlyStandardDescriptorsAreInherited) {
  int leaked[2];
  ASSERT_EQ(::pipe(leaked), 0);  // deliberately without O_CLOEXEC
  auto rec = run("ls /proc/self/fd");
  ::close(leaked[0]);
  ::close(leaked[1]);
  // ls itself holds one descriptor (3) for the directory it lists.
  EXPECT_EQ(rec->out, (std::vector<std::string>{"0", "1", "2", "3"}));
}

TEST_F(ProcessLauncherTest, ExitCodeIsPropagated) {
  EXPECT_EQ(run("exit 0")->exit_code, 0);
  EXPECT_EQ(run("exit 42")->exit_code, 42);
}

TEST_F(ProcessLauncherTest, DeathBySignalReports128PlusSignal) {
  EXPECT_EQ(run("kill -9 $$")->exit_code, 128 + 9);
  EXPECT_EQ(run("kill -15 $$")->exit_code, 128 + 15);
}

TEST_F(ProcessLauncherTest, TerminateKillsTheProcessTree) {
  auto rec = Recorder::make();
  SandboxPtr sandbox =
      start(shSpec("sleep 1000 & echo $!; sleep 1000 & echo $!; echo ready; wait"), rec);
  ASSERT_NE(sandbox, nullptr);
  ASSERT_TRUE(rec->waitStdoutLines(3));
  const std::vector<std::string> lines = rec->stdoutLines();
  const pid_t child1 = std::stoi(lines[0]);
  const pid_t child2 = std::stoi(lines[1]);
  EXPECT_TRUE(isRunning(child1));

  sandbox->terminate(10min);
  sandbox->terminate(10min);  // idempotent
  ASSERT_TRUE(rec->waitExit());
  EXPECT_EQ(rec->exit_code, 128 + SIGTERM);
  EXPECT_TRUE(waitGone(child1));
  EXPECT_TRUE(waitGone(child2));
  EXPECT_TRUE(waitGone(sandbox->pid()));

  sandbox->terminate(0ms);  // safe after exit
  EXPECT_EQ(sandbox->residentBytes(), 0);
  EXPECT_EQ(rec->exitCalls(), 1);
}

TEST_F(ProcessLauncherTest, TerminateEscalatesToSigkillAfterGrace) {
  auto rec = Recorder::make();
  SandboxPtr sandbox = start(shSpec("trap '' TERM; echo ready; exec sleep 1000"), rec);
  ASSERT_NE(sandbox, nullptr);
  ASSERT_TRUE(rec->waitStdoutLines(1));
  sandbox->terminate(1h);
  sandbox->terminate(50ms);  // a shorter grace moves the SIGKILL earlier
  ASSERT_TRUE(rec->waitExit());
  EXPECT_EQ(rec->exit_code, 128 + SIGKILL);
}

TEST_F(ProcessLauncherTest, MainProcessExitKillsTheRestOfTheGroup) {
  auto rec = run("sleep 1000 & echo $!; exit 3");
  EXPECT_EQ(rec->exit_code, 3);
  ASSERT_EQ(rec->out.size(), 1u);
  EXPECT_TRUE(waitGone(std::stoi(rec->out[0])));
}

TEST_F(ProcessLauncherTest, BareNameIsResolvedOnTheSpecPath) {
  LaunchSpec spec = shSpec("exit 7");
  spec.argv[0] = "sh";
  spec.env = {{"PATH", "/nonexistent:/bin"}};
  auto rec = Recorder::make();
  SandboxPtr sandbox = start(spec, rec);
  ASSERT_TRUE(rec->waitExit());
  EXPECT_EQ(rec->exit_code, 7);

  spec.env.clear();  // the default PATH applies
  auto rec2 = Recorder::make();
  SandboxPtr sandbox2 = start(spec, rec2);
  ASSERT_TRUE(rec2->waitExit());
  EXPECT_EQ(rec2->exit_code, 7);
}

TEST_F(ProcessLauncherTest, UnusableSpecsAreErrorsFromLaunch) {
  auto rec = Recorder::make();
  auto expectInvalid = [&](const LaunchSpec& spec, const std::string& mention) {
    Result<SandboxPtr> sandbox = launcher_->launch(spec, outputTo(rec), exitTo(rec));
    ASSERT_FALSE(sandbox.isOk());
    EXPECT_EQ(sandbox.status().code(), StatusCode::kInvalidParameter);
    EXPECT_NE(sandbox.status().message().find(mention), std::string::npos)
        << sandbox.status().message();
  };

  LaunchSpec spec = shSpec("true");
  spec.argv = {"hearth-no-such-binary"};
  expectInvalid(spec, "hearth-no-such-binary");

  spec.argv = {"/nonexistent/hearth-binary"};  // fails in the child's execve()
  expectInvalid(spec, "/nonexistent/hearth-binary");

  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string not_executable = dir.path() + "/data.txt";
  std::ofstream(not_executable) << "#!/bin/sh\n";
  spec.argv = {not_executable};
  expectInvalid(spec, not_executable);
  spec.argv = {dir.path()};  // a directory
  expectInvalid(spec, dir.path());

  spec = shSpec("true");
  spec.working_dir = dir.path() + "/missing";
  expectInvalid(spec, dir.path() + "/missing");
  spec.working_dir = "relative/dir";
  expectInvalid(spec, "relative/dir");

  spec = shSpec("true");
  spec.argv.clear();
  expectInvalid(spec, "argv");
  spec = shSpec("true");
  spec.env["BAD=NAME"] = "x";
  expectInvalid(spec, "BAD=NAME");

  launcher_.reset();  // joins the launcher thread: no callback can still be pending
  EXPECT_EQ(rec->exit_calls, 0);
  EXPECT_TRUE(rec->out.empty());
  EXPECT_TRUE(rec->err.empty());
}

TEST_F(ProcessLauncherTest, ConcurrentShortLivedSandboxesEachExitOnce) {
  constexpr int kSandboxes = 200;
  constexpr int kThreads = 8;
  struct Tally {
    std::mutex mu;
    std::condition_variable cv;
    std::vector<int> exit_calls = std::vector<int>(kSandboxes, 0);
    std::vector<int> exit_codes = std::vector<int>(kSandboxes, -1);
    std::vector<std::vector<std::string>> lines = std::vector<std::vector<std::string>>(kSandboxes);
    int exited = 0;
  };
  auto tally = std::make_shared<Tally>();
  std::atomic<int> launch_failures{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = t; i < kSandboxes; i += kThreads) {
        LaunchSpec spec = shSpec("echo hello $1; exit $2");
        spec.argv.insert(spec.argv.end(), {"sh", std::to_string(i), std::to_string(i % 100)});
        auto on_output = [tally, i](OutputStream, std::string line) {
          std::lock_guard lock(tally->mu);
          tally->lines[i].push_back(std::move(line));
        };
        auto on_exit = [tally, i](int code) {
          std::lock_guard lock(tally->mu);
          tally->exit_codes[i] = code;
          if (tally->exit_calls[i]++ == 0) {
            ++tally->exited;
          }
          tally->cv.notify_all();
        };
        // The handle is dropped at once: that must not stop the process or its callbacks.
        if (!launcher_->launch(spec, on_output, on_exit).isOk()) {
          ++launch_failures;
        }
      }
    });
  }
  for (auto& thread : threads) {
    thread.join();
  }
  ASSERT_EQ(launch_failures.load(), 0);
  {
    std::unique_lock lock(tally->mu);
    ASSERT_TRUE(tally->cv.wait_for(lock, kTimeout, [&] { return tally->exited == kSandboxes; }));
  }
  launcher_.reset();  // no later callback can arrive after this
  for (int i = 0; i < kSandboxes; ++i) {
    EXPECT_EQ(tally->exit_calls[i], 1) << i;
    EXPECT_EQ(tally->exit_codes[i], i % 100) << i;
    EXPECT_EQ(tally->lines[i], std::vector<std::string>{"hello " + std::to_string(i)}) << i;
  }
}

TEST_F(ProcessLauncherTest, ResidentBytesOfARunningProcess) {
  auto rec = Recorder::make();
  SandboxPtr sandbox = start(shSpec("sleep 1000 & echo ready; wait"), rec);
  ASSERT_NE(sandbox, nullptr);
  ASSERT_TRUE(rec->waitStdoutLines(1));
  EXPECT_GT(sandbox->residentBytes(), 0);
  sandbox->terminate(0ms);
  ASSERT_TRUE(rec->waitExit());
  EXPECT_EQ(rec->exit_code, 128 + SIGKILL);
  EXPECT_EQ(sandbox->residentBytes(), 0);
}

TEST_F(ProcessLauncherTest, SandboxOutlivesTheThreadThatLaunchedIt) {
  // PR_SET_PDEATHSIG follows the forking thread, so launching from a short-lived thread must not
  // kill the sandbox when that thread ends.
  auto rec = Recorder::make();
  SandboxPtr sandbox;
  std::thread launcher_thread([&] { sandbox = start(shSpec("echo ready; exec sleep 1000"), rec); });
  launcher_thread.join();
  ASSERT_NE(sandbox, nullptr);
  ASSERT_TRUE(rec->waitStdoutLines(1));
  // A full round trip through the launcher after the thread ended.
  EXPECT_EQ(run("exit 0")->exit_code, 0);
  EXPECT_EQ(rec->exitCalls(), 0);
  sandbox->terminate(10min);
  ASSERT_TRUE(rec->waitExit());
  EXPECT_EQ(rec->exit_code, 128 + SIGTERM);
}

TEST_F(ProcessLauncherTest, LaunchFromACallback) {
  auto nested = Recorder::make();
  auto first = Recorder::make();
  SandboxPtr nested_sandbox;
  SandboxLauncher* launcher = launcher_.get();
  Result<SandboxPtr> sandbox =
      launcher_->launch(shSpec("exit 0"), outputTo(first), [&, launcher, first](int code) {
        Result<SandboxPtr> inner =
            launcher->launch(shSpec("echo nested"), outputTo(nested), exitTo(nested));
        std::lock_guard lock(first->mu);
        if (inner.isOk()) {
          nested_sandbox = std::move(inner).value();
        }
        first->exit_code = code;
        ++first->exit_calls;
        first->cv.notify_all();
      });
  ASSERT_TRUE(sandbox.isOk());
  ASSERT_TRUE(first->waitExit());
  ASSERT_TRUE(nested->waitExit());
  EXPECT_EQ(nested->out, std::vector<std::string>{"nested"});
  std::lock_guard lock(first->mu);
  EXPECT_NE(nested_sandbox, nullptr);
}

TEST_F(ProcessLauncherTest, DestroyingTheLauncherKillsRemainingSandboxes) {
  auto rec = Recorder::make();
  SandboxPtr sandbox = start(shSpec("sleep 1000 & echo $!; wait"), rec);
  ASSERT_NE(sandbox, nullptr);
  ASSERT_TRUE(rec->waitStdoutLines(1));
  const pid_t child = std::stoi(rec->stdoutLines()[0]);

  launcher_.reset();
  EXPECT_TRUE(waitGone(sandbox->pid()));
  EXPECT_TRUE(waitGone(child));
  EXPECT_EQ(rec->exitCalls(), 0);  // no callback after destruction began
  sandbox->terminate(0ms);         // the handle outlives the launcher safely
  EXPECT_EQ(sandbox->residentBytes(), 0);
}

size_t openDescriptorCount() {
  return static_cast<size_t>(std::distance(std::filesystem::directory_iterator("/proc/self/fd"),
                                           std::filesystem::directory_iterator()));
}

TEST(ProcessLauncherLifecycleTest, NoDescriptorLeaks) {
  const size_t before = openDescriptorCount();
  {
    SandboxLauncherPtr launcher = ProcessLauncher::makeProcessLauncher();
    auto done = Recorder::make();
    auto running = Recorder::make();
    Result<SandboxPtr> a = launcher->launch(shSpec("echo x"), outputTo(done), exitTo(done));
    Result<SandboxPtr> b =
        launcher->launch(shSpec("echo ready; exec sleep 1000"), outputTo(running), exitTo(running));
    LaunchSpec missing = shSpec("");
    missing.argv = {"/nonexistent/hearth-binary"};
    EXPECT_FALSE(launcher->launch(missing, nullptr, nullptr).isOk());
    ASSERT_TRUE(a.isOk());
    ASSERT_TRUE(b.isOk());
    ASSERT_TRUE(done->waitExit());
    ASSERT_TRUE(running->waitStdoutLines(1));
  }  // the running sandbox is killed by the launcher's destruction
  EXPECT_EQ(openDescriptorCount(), before);
}

TEST(ProcessLauncherPollingTest, ExitsAreSeenWithoutPidfds) {
  SandboxLauncherPtr launcher =
      ProcessLauncher::makeProcessLauncher({.use_pidfd = false, .isolation = nullptr});
  auto rec = Recorder::make();
  Result<SandboxPtr> quick =
      launcher->launch(shSpec("echo hi; exit 5"), outputTo(rec), exitTo(rec));
  ASSERT_TRUE(quick.isOk());
  ASSERT_TRUE(rec->waitExit());
  EXPECT_EQ(rec->exit_code, 5);
  EXPECT_EQ(rec->out, std::vector<std::string>{"hi"});

  auto rec2 = Recorder::make();
  Result<SandboxPtr> slow =
      launcher->launch(shSpec("sleep 1000 & echo $!; wait"), outputTo(rec2), exitTo(rec2));
  ASSERT_TRUE(slow.isOk());
  ASSERT_TRUE(rec2->waitStdoutLines(1));
  (*slow)->terminate(10min);
  ASSERT_TRUE(rec2->waitExit());
  EXPECT_EQ(rec2->exit_code, 128 + SIGTERM);
  EXPECT_TRUE(waitGone(std::stoi(rec2->stdoutLines()[0])));
}

}  // namespace
}  // namespace hearth
