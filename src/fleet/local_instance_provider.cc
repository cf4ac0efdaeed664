#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <filesystem>
#include <mutex>

#include "fleet/instance_provider.h"
#include "sandbox/sandbox_launcher.h"

namespace hearth {

LocalInstanceProvider::LocalInstanceProvider(LocalInstanceOptions options,
                                             SandboxLauncher* launcher,
                                             InstanceExitCallback on_exit)
    : options_(std::move(options)), launcher_(launcher), on_exit_(std::move(on_exit)) {}

LocalInstanceProvider::~LocalInstanceProvider() {
  std::lock_guard lock(mu_);
  for (auto& [id, sandbox] : agents_) {
    sandbox->terminate(std::chrono::milliseconds(3000));
  }
}

Status LocalInstanceProvider::launch(const InstanceLaunch& launch) {
  std::string work_dir = options_.work_root + "/" + launch.instance_id;
  std::error_code ec;
  std::filesystem::create_directories(work_dir, ec);
  if (ec) {
    return Status(StatusCode::kUnavailable, "cannot create " + work_dir + ": " + ec.message());
  }
  LaunchSpec spec;
  spec.id = launch.instance_id;
  spec.argv = {options_.hearth_binary,
               "agent",
               "--server",
               options_.server_url,
               "--instance-id",
               launch.instance_id,
               "--zone",
               launch.zone,
               "--instance-type",
               launch.type.name,
               "--vcpus",
               std::to_string(launch.type.vcpus),
               "--memory-mib",
               std::to_string(launch.type.memory_mib),
               "--work-dir",
               work_dir,
               "--runtimes-dir",
               options_.runtimes_dir,
               "--region",
               options_.region};
  for (const auto& [prefix, interpreter] : options_.interpreters) {
    spec.argv.push_back("--interpreter");
    spec.argv.push_back(prefix + "=" + interpreter);
  }
  spec.env["HEARTH_AGENT_TOKEN"] = options_.token;
  spec.env["PATH"] = std::getenv("PATH") ? std::getenv("PATH") : "/usr/local/bin:/usr/bin:/bin";
  spec.env["HOME"] = work_dir;
  spec.working_dir = work_dir;
  spec.vcpus = launch.type.vcpus;
  spec.memory_limit_bytes = launch.type.memory_mib * 1024 * 1024;
  std::string id = launch.instance_id;
  auto sandbox = launcher_->launch(
      spec, [id](OutputStream, std::string line) { spdlog::debug("agent {}: {}", id, line); },
      [this, id](int exit_code) {
        {
          std::lock_guard lock(mu_);
          agents_.erase(id);
        }
        if (on_exit_) {
          on_exit_(id, exit_code);
        }
      });
  if (!sandbox.isOk()) {
    return sandbox.status();
  }
  std::lock_guard lock(mu_);
  agents_[id] = std::move(sandbox).value();
  return Status::ok();
}

void LocalInstanceProvider::terminate(const std::string& instance_id) {
  std::lock_guard lock(mu_);
  auto it = agents_.find(instance_id);
  if (it != agents_.end()) {
    it->second->terminate(std::chrono::milliseconds(3000));
  }
}

}  // namespace hearth
