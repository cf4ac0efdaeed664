#include "agent/code_cache.h"

#include <fmt/format.h>

#include <filesystem>

#include "artifact/zip_reader.h"
#include "common/ids.h"
#include "net/http_client.h"
#include "protocol/agent_protocol.h"

namespace hearth {
namespace fs = std::filesystem;

Result<std::string> CodeCache::ensure(const std::string& hex) {
  fs::path dir = fs::path(work_dir_) / "code" / hex;
  {
    MutexLock lock(&mu_);
    while (downloading_.contains(hex)) {
      done_.wait(&mu_);
    }
    std::error_code ec;
    if (fs::is_directory(dir, ec)) {
      return dir.string();
    }
    downloading_.insert(hex);
  }
  auto result = download(hex);
  {
    MutexLock lock(&mu_);
    downloading_.erase(hex);
  }
  done_.notifyAll();
  return result;
}

Result<std::string> CodeCache::download(const std::string& hex) {
  fs::path dir = fs::path(work_dir_) / "code" / hex;
  auto client = HttpClient::create(server_host_, server_port_);
  HttpRequest request;
  request.method = "GET";
  request.target = "/_hearth/agent/v1/code/" + hex;
  request.headers.emplace_back(std::string(protocol::kTokenHeader), token_);
  HEARTH_ASSIGN_OR_RETURN(HttpResponse response, client->send(request, std::chrono::seconds(60)));
  if (response.status != 200) {
    return Status(
        StatusCode::kUnavailable,
        fmt::format("code {} not available from the server (HTTP {})", hex, response.status));
  }
  std::error_code ec;
  fs::path staging = fs::path(work_dir_) / "code" / (".tmp-" + hex + "-" + newUuid());
  fs::create_directories(staging, ec);
  Status extracted = extractZip(response.body, staging.string(), ZipLimits{});
  if (!extracted.isOk()) {
    fs::remove_all(staging, ec);
    return extracted;
  }
  fs::rename(staging, dir, ec);
  if (ec) {
    fs::remove_all(staging, ec);
    return Status(StatusCode::kInternal, "cannot install code: " + ec.message());
  }
  return dir.string();
}

}  // namespace hearth
