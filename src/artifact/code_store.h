#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "artifact/zip_reader.h"
#include "common/result.h"
#include "common/status.h"

namespace hearth {

struct StoredCode {
  std::string sha256_base64;  // CodeSha256 as AWS reports it: base64 of the raw digest.
  std::string sha256_hex;     // Lowercase hex of the same digest; the storage key.
  int64_t size = 0;           // CodeSize: bytes of the zip as uploaded.
  bool created = false;       // False when identical content was already stored.
};

// Content-addressed storage of validated deployment packages, one immutable file per distinct
// zip at <root>/<sha256-hex>.zip. A file is published by atomic rename after fsync, so readers
// never see a partial package. Reference counting is the caller's job: remove() deletes
// unconditionally, so a caller that fails after put() removes only what it created.
//
// One process owns a root. All methods are safe to call concurrently; they block on disk I/O and
// belong on the control plane.
class CodeStore {
 public:
  // Creates `root` (and parents) when missing and deletes temporary files left by an interrupted
  // put(). Every zip is validated with `limits` on put().
  static Result<std::unique_ptr<CodeStore>> open(std::string root, ZipLimits limits = {});

  CodeStore(const CodeStore&) = delete;
  CodeStore& operator=(const CodeStore&) = delete;

  // Validates `zip_bytes` with inspectZip() (errors are kInvalidParameter) and stores it unless
  // identical content is already present (whose modification time is then refreshed, see
  // removeIfIdle()). Disk failures are kInternal; a failure after the file
  // was published (the directory fsync) leaves it in place, where listHex() can find it.
  Result<StoredCode> put(std::string_view zip_bytes);

  // `hex` is a sha256_hex from put(). An invalid hex string is never contained.
  bool contains(std::string_view hex) const;

  // The stored zip. kNotFound when absent, kInvalidParameter when `hex` is malformed.
  Result<std::string> read(std::string_view hex) const;

  // Deletes the stored zip. kNotFound when absent, kInvalidParameter when `hex` is malformed.
  Status remove(std::string_view hex);

  // Deletes the stored zip unless it was stored or put() again within `grace` (by the file's
  // modification time). Returns whether it was deleted. A collector that lists references,
  // then calls this, never deletes code a request has just put() and not yet committed, as long
  // as the request commits within `grace`.
  Result<bool> removeIfIdle(std::string_view hex, std::chrono::seconds grace);

  // Where the zip for `hex` lives (whether or not it exists); "" when `hex` is malformed.
  std::string pathFor(std::string_view hex) const;

  // The hex keys of every stored zip, sorted; empty when the root cannot be listed.
  std::vector<std::string> listHex() const;

  const std::string& root() const { return root_; }

  // True for exactly 64 lowercase hexadecimal digits.
  static bool isValidHex(std::string_view hex);

 private:
  CodeStore(std::string root, ZipLimits limits) : root_(std::move(root)), limits_(limits) {}

  const std::string root_;
  const ZipLimits limits_;
  // Serialises the exists-check-then-rename in put() against other puts and remove().
  std::mutex publish_mu_;
  std::atomic<uint64_t> temp_counter_{0};
};

}  // namespace hearth
