#include "artifact/code_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <filesystem>
#include <system_error>
#include <utility>

#include "artifact/encoding.h"

namespace hearth {
namespace {

constexpr std::string_view kZipSuffix = ".zip";
constexpr std::string_view kTempPrefix = ".tmp-";
constexpr size_t kHexDigestLength = 64;

Status errnoError(std::string_view what, const std::string& path, int err) {
  std::string message(what);
  message += " " + path + ": " + std::generic_category().message(err);
  return internalError(std::move(message));
}

Status writeAll(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return errnoError("Could not write", path, errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return Status::ok();
}

// Makes a completed rename or unlink in `dir` durable.
Status fsyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return errnoError("Could not open", dir, errno);
  }
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) {
    return errnoError("Could not fsync", dir, err);
  }
  return Status::ok();
}

// Writes `data` to a new file at `path` and fsyncs it. Removes the file on failure.
Status writeDurably(const std::string& path, std::string_view data) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return errnoError("Could not create", path, errno);
  }
  Status status = writeAll(fd, data, path);
  if (status.isOk() && ::fsync(fd) != 0) {
    status = errnoError("Could not fsync", path, errno);
  }
  if (::close(fd) != 0 && status.isOk()) {
    status = errnoError("Could not close", path, errno);
  }
  if (!status.isOk()) {
    ::unlink(path.c_str());
  }
  return status;
}

// Calls fn(name) for every directory entry other than "." and "..".
template <typename Fn>
Status forEachName(const std::string& dir, Fn fn) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) {
    return errnoError("Could not list", dir, errno);
  }
  while (const dirent* ent = ::readdir(d)) {
    const std::string_view name(ent->d_name);
    if (name != "." && name != "..") {
      fn(name);
    }
  }
  ::closedir(d);
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<CodeStore>> CodeStore::open(std::string root, ZipLimits limits) {
  std::error_code ec;
  std::filesystem::create_directories(root, ec);
  if (ec) {
    return internalError("Could not create " + root + ": " + ec.message());
  }
  std::vector<std::string> stale;
  HEARTH_RETURN_IF_ERROR(forEachName(root, [&stale](std::string_view name) {
    if (name.starts_with(kTempPrefix)) {
      stale.emplace_back(name);
    }
  }));
  for (const std::string& name : stale) {
    std::string path = root;
    path += '/';
    path += name;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return errnoError("Could not remove", path, errno);
    }
  }
  return std::unique_ptr<CodeStore>(new CodeStore(std::move(root), limits));
}

bool CodeStore::isValidHex(std::string_view hex) {
  return hex.size() == kHexDigestLength && std::all_of(hex.begin(), hex.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

std::string CodeStore::pathFor(std::string_view hex) const {
  if (!isValidHex(hex)) {
    return std::string();
  }
  std::string path = root_;
  path += '/';
  path += hex;
  path += kZipSuffix;
  return path;
}

Result<StoredCode> CodeStore::put(std::string_view zip_bytes) {
  HEARTH_RETURN_IF_ERROR(inspectZip(zip_bytes, limits_).status());
  const std::string digest = sha256Raw(zip_bytes);
  StoredCode code;
  code.sha256_base64 = base64Encode(digest);
  code.sha256_hex = hexEncode(digest);
  code.size = static_cast<int64_t>(zip_bytes.size());
  const std::string final_path = pathFor(code.sha256_hex);

  {
    std::lock_guard<std::mutex> lock(publish_mu_);
    if (contains(code.sha256_hex)) {
      ::utimensat(AT_FDCWD, final_path.c_str(), nullptr, 0);  // in use again: not idle
      return code;
    }
  }
  // The temporary file is private to this call, so it is written without holding the lock.
  const std::string temp_path = root_ + "/" + std::string(kTempPrefix) + code.sha256_hex + "-" +
                                std::to_string(::getpid()) + "-" +
                                std::to_string(temp_counter_.fetch_add(1));
  HEARTH_RETURN_IF_ERROR(writeDurably(temp_path, zip_bytes));
  {
    std::lock_guard<std::mutex> lock(publish_mu_);
    if (contains(code.sha256_hex)) {
      ::unlink(temp_path.c_str());
      ::utimensat(AT_FDCWD, final_path.c_str(), nullptr, 0);
      return code;
    }
    if (::rename(temp_path.c_str(), final_path.c_str()) != 0) {
      const int err = errno;
      ::unlink(temp_path.c_str());
      return errnoError("Could not publish", final_path, err);
    }
    code.created = true;
  }
  // The file is complete and visible; on failure only its durability across a crash is in doubt.
  // It stays in place (it may already be shared by a concurrent put) and the caller sees an error.
  HEARTH_RETURN_IF_ERROR(fsyncDir(root_));
  return code;
}

bool CodeStore::contains(std::string_view hex) const {
  const std::string path = pathFor(hex);
  struct stat st {};
  return !path.empty() && ::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<std::string> CodeStore::read(std::string_view hex) const {
  const std::string path = pathFor(hex);
  if (path.empty()) {
    return invalidParameter("Invalid code SHA-256: " + std::string(hex.substr(0, 80)));
  }
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) {
      return notFound("No stored code with SHA-256 " + std::string(hex));
    }
    return errnoError("Could not open", path, errno);
  }
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_size > 0) {
    out.reserve(static_cast<size_t>(st.st_size));
  }
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n == 0) {
      break;
    }
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      const int err = errno;
      ::close(fd);
      return errnoError("Could not read", path, err);
    }
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status CodeStore::remove(std::string_view hex) {
  const std::string path = pathFor(hex);
  if (path.empty()) {
    return invalidParameter("Invalid code SHA-256: " + std::string(hex.substr(0, 80)));
  }
  std::lock_guard<std::mutex> lock(publish_mu_);
  if (::unlink(path.c_str()) != 0) {
    if (errno == ENOENT) {
      return notFound("No stored code with SHA-256 " + std::string(hex));
    }
    return errnoError("Could not remove", path, errno);
  }
  return Status::ok();
}

Result<bool> CodeStore::removeIfIdle(std::string_view hex, std::chrono::seconds grace) {
  const std::string path = pathFor(hex);
  if (path.empty()) {
    return invalidParameter("Invalid code SHA-256: " + std::string(hex.substr(0, 80)));
  }
  std::lock_guard<std::mutex> lock(publish_mu_);
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    return false;
  }
  struct timespec now {};
  ::clock_gettime(CLOCK_REALTIME, &now);
  if (now.tv_sec - st.st_mtim.tv_sec < grace.count()) {
    return false;
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return errnoError("Could not remove", path, errno);
  }
  return true;
}

std::vector<std::string> CodeStore::listHex() const {
  std::vector<std::string> out;
  forEachName(root_, [&out](std::string_view name) {
    if (name.size() == kHexDigestLength + kZipSuffix.size() && name.ends_with(kZipSuffix) &&
        isValidHex(name.substr(0, kHexDigestLength))) {
      out.emplace_back(name.substr(0, kHexDigestLength));
    }
  }).permitUnchecked();
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace hearth
