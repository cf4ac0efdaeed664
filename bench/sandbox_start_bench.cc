// Sandbox start cost: from launch() to the EE's process running (launch() returns once its
// execve() has succeeded), for the plain launcher and the sandboxing one (namespaces, root
// file system, cgroup, identity, seccomp, Runtime API listener). The program is /bin/true, so
// no interpreter start-up is counted. Needs root for the sandboxed case.
//
//   ninja -C build-release sandbox_start_bench && build-release/bench/sandbox_start_bench
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "sandbox/process_launcher.h"
#include "sandbox/sandboxing_launcher.h"

namespace hearth {

SandboxLauncherPtr& sharedSandboxingLauncher();

namespace {

LaunchSpec trueSpec(bool sandboxed) {
  LaunchSpec spec;
  spec.id = "bench";
  spec.argv = {"/bin/true"};
  spec.env = {{"PATH", "/usr/bin:/bin"}};
  spec.working_dir = std::string(1, '/');  // (GCC 12 -Wrestrict misfires on = "/")
  spec.memory_limit_bytes = 256 << 20;
  spec.tmp_bytes = 16 << 20;
  if (sandboxed) {
    spec.runtime_api_port = 9001;
  }
  return spec;
}

// Launches and, outside the timed region unless `whole_cycle`, waits for the exit and the
// sandbox's teardown.
void launchLoop(benchmark::State& state, SandboxLauncher& launcher, bool sandboxed,
                bool whole_cycle) {
  LaunchSpec spec = trueSpec(sandboxed);
  for (auto _ : state) {
    std::mutex mu;
    std::condition_variable cv;
    bool exited = false;
    auto sandbox = launcher.launch(
        spec, [](OutputStream, std::string) {},
        [&](int) {
          std::lock_guard lock(mu);
          exited = true;
          cv.notify_all();
        });
    if (!whole_cycle) {
      state.PauseTiming();
    }
    if (!sandbox.isOk()) {
      state.SkipWithError(sandbox.status().toString().c_str());
      break;
    }
    int listener = (*sandbox)->takeRuntimeApiListener();
    if (listener >= 0) {
      ::close(listener);
    }
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return exited; });
    lock.unlock();
    if (!whole_cycle) {
      state.ResumeTiming();
    }
  }
}

SandboxLauncher* sandboxingLauncher() {
  static SandboxLauncher* launcher = [] {
    SandboxingLauncherOptions options;
    options.staging_root = (std::filesystem::temp_directory_path() /
                            ("hearth-bench-root-" + std::to_string(::getpid())))
                               .string();
    options.instance_name = "bench-" + std::to_string(::getpid());
    options.join_instance_group = false;
    auto made = makeSandboxingLauncher(options);
    if (made.isOk()) {
      sharedSandboxingLauncher() = std::move(made).value();
    }
    return sharedSandboxingLauncher().get();
  }();
  return launcher;
}

void BM_PlainStart(benchmark::State& state) {
  auto launcher = ProcessLauncher::makeProcessLauncher();
  launchLoop(state, *launcher, false, false);
}
// `whole_cycle`: time the exit and the teardown too, not only the start.
void sandboxLoop(benchmark::State& state, bool whole_cycle) {
  SandboxLauncher* launcher = sandboxingLauncher();
  if (launcher == nullptr) {
    state.SkipWithError("this host cannot run sandboxes (needs root)");
    return;
  }
  launchLoop(state, *launcher, true, whole_cycle);
}
void BM_SandboxStart(benchmark::State& state) {
  sandboxLoop(state, false);
}
void BM_SandboxWholeCycle(benchmark::State& state) {
  sandboxLoop(state, true);
}

BENCHMARK(BM_PlainStart)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly();
BENCHMARK(BM_SandboxStart)->Unit(benchmark::kMillisecond)->Repetitions(5)->ReportAggregatesOnly();
BENCHMARK(BM_SandboxWholeCycle)
    ->Unit(benchmark::kMillisecond)
    ->Repetitions(5)
    ->ReportAggregatesOnly();

}  // namespace

// Made on first use, destroyed in main() so that its instance cgroup is removed.
SandboxLauncherPtr& sharedSandboxingLauncher() {
  static SandboxLauncherPtr launcher;
  return launcher;
}

}  // namespace hearth

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  hearth::sharedSandboxingLauncher().reset();
  benchmark::Shutdown();
  return 0;
}
