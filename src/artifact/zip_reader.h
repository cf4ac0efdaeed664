#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "common/status.h"

namespace hearth {

// Bounds applied while reading an untrusted deployment package.
struct ZipLimits {
  // Sum of the real (inflated) sizes of all entries. AWS: 250 MiB unzipped.
  int64_t max_uncompressed_bytes = 262144000;
  // Number of central-directory entries, directories included.
  int64_t max_entries = 20000;
};

// Longest accepted symlink target, in bytes.
inline constexpr size_t kMaxZipSymlinkTarget = 4096;

struct ZipManifestEntry {
  std::string name;  // As stored in the archive, e.g. "lib/" or "bin/run".
  std::string path;  // Normalised relative path: no "." or empty segments, no trailing '/'.
                     // Empty only for a directory entry naming the root itself ("./").
  int64_t uncompressed_size = 0;  // Verified by inflating, not taken from the header.
  bool is_dir = false;
  bool is_symlink = false;
  std::string symlink_target;  // The entry's data when is_symlink; otherwise empty.
  // st_mode-style bits (file type and permissions). Taken from the Unix external attributes when
  // the archive carries them, otherwise S_IFDIR|0755 or S_IFREG|0644.
  uint32_t unix_mode = 0;
  bool executable = false;  // A regular file with any execute bit set.
};

struct ZipManifest {
  std::vector<ZipManifestEntry> entries;  // In central-directory order.
  int64_t total_uncompressed_bytes = 0;
};

// Parses and fully validates a zip archive held in memory. Every entry is inflated in bounded
// chunks (stored and deflate only) and its CRC-32 and size are checked; declared sizes are never
// trusted to bound work or memory. Total work is linear in bytes.size() plus
// limits.max_uncompressed_bytes, and memory use is constant apart from the manifest.
//
// Every rejection is kInvalidParameter, matching AWS's InvalidParameterValueException:
//  - not a zip, truncated, corrupt, bad CRC, size mismatch, encrypted, unsupported method, ZIP64,
//    multi-disk, overlapping entries, no entries;
//  - names that are absolute ("/x", "C:..."), contain a ".." segment, a backslash or a NUL, are
//    duplicated after normalisation, or sit beneath a file or symlink entry;
//  - symlinks whose target is empty, absolute, longer than kMaxZipSymlinkTarget, has a ".." after
//    a normal segment, or climbs above the archive root from the link's directory;
//  - device, FIFO and socket entries;
//  - more than limits.max_entries entries, or more than limits.max_uncompressed_bytes in total.
// Thread-safe: no shared state.
Result<ZipManifest> inspectZip(std::string_view bytes, const ZipLimits& limits);

// Validates `bytes` exactly as inspectZip does and writes the entries under dest_dir, which must
// exist. Directories get mode 0755; regular files get 0755 if any execute bit is set in the
// archive and 0644 otherwise (umask is not applied); symlinks are created as symlinks.
// Never follows a symlink while writing: every path component is opened with O_NOFOLLOW and every
// file and link is created exclusively, so a pre-existing file or symlink at an entry's path is an
// error (kInternal), as is any other I/O failure.
//
// Structure, names and symlink targets are validated before anything is written; data errors (bad
// CRC, size mismatch, total size over the limit) surface while streaming, so on any error dest_dir
// may hold partial output. Callers extract into a fresh private directory, delete it on failure
// and publish it by rename on success.
Status extractZip(std::string_view bytes, const std::string& dest_dir, const ZipLimits& limits);

}  // namespace hearth
