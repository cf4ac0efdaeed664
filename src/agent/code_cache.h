#pragma once

#include <condition_variable>
#include <mutex>
#include <set>
#include <string>

#include "common/result.h"
#include "common/thread_annotations.h"

namespace hearth {

// Where EE launches get their unpacked deployment package.
class CodeSource {
 public:
  virtual ~CodeSource() = default;
  // The directory holding the package with SHA-256 `hex`, unpacked.
  virtual Result<std::string> ensure(const std::string& hex) = 0;
};

// Deployment packages unpacked once per instance under `<work_dir>/code/<sha256-hex>`, fetched
// from the server's agent protocol (GET /_hearth/agent/v1/code/{hex}). Downloads of different
// packages run at once; callers wanting the same one wait for the one download. Only EE launches
// call it: the invoke path never waits on it. Thread-safe.
class CodeCache final : public CodeSource {
 public:
  CodeCache(std::string work_dir, std::string server_host, uint16_t server_port, std::string token)
      : work_dir_(std::move(work_dir)),
        server_host_(std::move(server_host)),
        server_port_(server_port),
        token_(std::move(token)) {}

  // The directory holding the unpacked package; kUnavailable when the server does not have it,
  // extraction errors as they are.
  Result<std::string> ensure(const std::string& hex) override;

 private:
  Result<std::string> download(const std::string& hex);

  const std::string work_dir_;
  const std::string server_host_;
  const uint16_t server_port_;
  const std::string token_;
  Mutex mu_;
  CondVar done_;
  std::set<std::string> downloading_ GUARDED_BY(mu_);
};

}  // namespace hearth
