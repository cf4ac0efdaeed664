#include "artifact/zip_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <string>
#include <system_error>
#include <utility>

namespace hearth {
namespace {

constexpr std::string_view kUnzipError =
    "Could not unzip uploaded file. Please check your file, then try to upload again.";

constexpr uint32_t kEocdSignature = 0x06054b50;
constexpr uint32_t kCentralSignature = 0x02014b50;
constexpr uint32_t kLocalSignature = 0x04034b50;
constexpr size_t kEocdSize = 22;
constexpr size_t kCentralSize = 46;
constexpr size_t kLocalSize = 30;
constexpr size_t kMaxCommentSize = 0xffff;

constexpr uint16_t kFlagEncrypted = 0x0001;
constexpr uint16_t kFlagStrongEncryption = 0x0040;
constexpr uint16_t kMethodStored = 0;
constexpr uint16_t kMethodDeflate = 8;
constexpr uint16_t kHostUnix = 3;
constexpr uint16_t kHostMacOs = 19;
// Set by some Windows archivers when the upper 16 bits of the external attributes hold a Unix mode.
constexpr uint32_t kUnixExtensionFlag = 0x8000;

// Linux PATH_MAX and NAME_MAX, so anything accepted here can be created on disk.
constexpr size_t kMaxNameBytes = 4095;
constexpr size_t kMaxSegmentBytes = 255;

constexpr size_t kChunkSize = size_t{64} * 1024;

// Receives each chunk of an entry's inflated data. An empty function discards the data.
using Sink = std::function<Status(std::string_view)>;

// A name fit for an error message: printable ASCII only, bounded length.
std::string printable(std::string_view name) {
  constexpr size_t kMaxShown = 120;
  std::string out;
  for (size_t i = 0; i < name.size() && i < kMaxShown; ++i) {
    const char c = name[i];
    out += (c >= 0x20 && c < 0x7f) ? c : '?';
  }
  if (name.size() > kMaxShown) {
    out += "...";
  }
  return out;
}

Status unzipError(std::string_view detail) {
  std::string message(kUnzipError);
  message += " (";
  message += detail;
  message += ")";
  return invalidParameter(std::move(message));
}

Status entryError(std::string_view name, std::string_view detail) {
  std::string text = "entry '" + printable(name) + "': ";
  text += detail;
  return unzipError(text);
}

Status sizeError(const ZipLimits& limits) {
  return invalidParameter("Unzipped size must be smaller than " +
                          std::to_string(limits.max_uncompressed_bytes) + " bytes");
}

Status ioError(std::string_view what, std::string_view name, int err) {
  std::string message(what);
  message += " '" + printable(name) + "': " + std::generic_category().message(err);
  return internalError(std::move(message));
}

// REQUIRES: off + 2 <= b.size().
uint16_t le16(std::string_view b, size_t off) {
  return static_cast<uint16_t>(static_cast<uint8_t>(b[off]) |
                               (static_cast<uint16_t>(static_cast<uint8_t>(b[off + 1])) << 8));
}

// REQUIRES: off + 4 <= b.size().
uint32_t le32(std::string_view b, size_t off) {
  return static_cast<uint32_t>(le16(b, off)) | (static_cast<uint32_t>(le16(b, off + 2)) << 16);
}

bool hasDrivePrefix(std::string_view s) {
  return s.size() >= 2 && s[1] == ':' &&
         ((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z'));
}

// Splits on '/', dropping empty and "." segments.
std::vector<std::string_view> splitPath(std::string_view s) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find('/', start);
    if (end == std::string_view::npos) {
      end = s.size();
    }
    std::string_view seg = s.substr(start, end - start);
    if (!seg.empty() && seg != ".") {
      out.push_back(seg);
    }
    start = end + 1;
  }
  return out;
}

// An entry as parsed from the central directory, before its data is read.
struct RawEntry {
  ZipManifestEntry info;
  uint16_t method = 0;
  uint32_t crc = 0;
  uint32_t compressed_size = 0;
  uint32_t declared_size = 0;
  uint64_t local_offset = 0;
  uint64_t data_offset = 0;
};

// Checks an entry name and fills info.path and info.is_dir. `mode_is_dir` says whether the Unix
// mode marks a directory; a trailing '/' does too.
Status validateName(std::string_view name, bool mode_is_dir, ZipManifestEntry& info) {
  if (name.empty()) {
    return unzipError("an entry has an empty name");
  }
  if (name.size() > kMaxNameBytes) {
    return entryError(name, "name is too long");
  }
  if (name.find('\0') != std::string_view::npos) {
    return entryError(name, "name contains a NUL byte");
  }
  if (name.find('\\') != std::string_view::npos) {
    return entryError(name, "name contains a backslash");
  }
  if (name.front() == '/' || hasDrivePrefix(name)) {
    return entryError(name, "name is an absolute path");
  }
  std::string path;
  for (std::string_view seg : splitPath(name)) {
    if (seg == "..") {
      return entryError(name, "name contains a '..' path segment");
    }
    if (seg.size() > kMaxSegmentBytes) {
      return entryError(name, "a path segment is too long");
    }
    if (!path.empty()) {
      path += '/';
    }
    path += seg;
  }
  info.is_dir = name.back() == '/' || mode_is_dir;
  if (path.empty() && !info.is_dir) {
    return entryError(name, "name does not name a file");
  }
  info.path = std::move(path);
  return Status::ok();
}

// Checks that a symlink at `link_path` pointing at `target` resolves inside the archive root.
// Leading ".." segments climb from the link's directory, whose components are real directories
// (no entry may sit beneath a symlink), so counting them is exact. A ".." after a normal segment
// could climb out of a directory reached through another symlink, where lexical counting is
// wrong, so it is rejected outright.
Status validateSymlinkTarget(const ZipManifestEntry& link, std::string_view target) {
  if (target.empty()) {
    return entryError(link.name, "symlink target is empty");
  }
  if (target.find('\0') != std::string_view::npos || target.find('\\') != std::string_view::npos) {
    return entryError(link.name, "symlink target contains a NUL byte or a backslash");
  }
  if (target.front() == '/' || hasDrivePrefix(target)) {
    return entryError(link.name, "symlink target is an absolute path");
  }
  size_t depth = splitPath(link.path).size() - 1;
  bool descended = false;
  for (std::string_view seg : splitPath(target)) {
    if (seg != "..") {
      descended = true;
      continue;
    }
    if (descended) {
      return entryError(link.name, "symlink target has '..' after a directory name");
    }
    if (depth == 0) {
      return entryError(link.name, "symlink target points outside the archive");
    }
    --depth;
  }
  return Status::ok();
}

// Owns a raw-deflate z_stream, initialised on first use.
class Inflater {
 public:
  Inflater() = default;
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  ~Inflater() {
    if (initialised_) {
      inflateEnd(&zs_);
    }
  }

  // Returns a stream reset for a new entry, or nullptr when zlib cannot allocate one.
  z_stream* reset() {
    if (!initialised_) {
      std::memset(&zs_, 0, sizeof(zs_));
      if (inflateInit2(&zs_, -MAX_WBITS) != Z_OK) {
        return nullptr;
      }
      initialised_ = true;
    } else if (inflateReset(&zs_) != Z_OK) {
      return nullptr;
    }
    return &zs_;
  }

 private:
  z_stream zs_;
  bool initialised_ = false;
};

// Streams one entry's data through `sink`, counting real bytes against the entry's declared size
// and the archive-wide budget, then checks size and CRC. Adds the entry's size to *total.
class EntryReader {
 public:
  EntryReader(std::string_view bytes, const ZipLimits& limits) : bytes_(bytes), limits_(limits) {}

  Status read(RawEntry& entry, int64_t* total, const Sink& sink) {
    produced_ = 0;
    crc_ = crc32(0L, Z_NULL, 0);
    std::string_view data = bytes_.substr(entry.data_offset, entry.compressed_size);
    if (entry.method == kMethodStored) {
      for (size_t off = 0; off < data.size(); off += kChunkSize) {
        HEARTH_RETURN_IF_ERROR(emit(entry, data.substr(off, kChunkSize), *total, sink));
      }
    } else if (!data.empty() || entry.declared_size != 0) {
      HEARTH_RETURN_IF_ERROR(inflateData(entry, data, *total, sink));
    }
    if (produced_ != entry.declared_size) {
      return entryError(entry.info.name, "size does not match the central directory");
    }
    if (crc_ != entry.crc) {
      return entryError(entry.info.name, "CRC-32 mismatch");
    }
    entry.info.uncompressed_size = static_cast<int64_t>(produced_);
    *total += static_cast<int64_t>(produced_);
    return Status::ok();
  }

 private:
  Status emit(const RawEntry& entry, std::string_view chunk, int64_t total, const Sink& sink) {
    produced_ += chunk.size();
    if (total + static_cast<int64_t>(produced_) > limits_.max_uncompressed_bytes) {
      return sizeError(limits_);
    }
    if (produced_ > entry.declared_size) {
      return entryError(entry.info.name, "data is longer than the central directory says");
    }
    crc_ =
        crc32(crc_, reinterpret_cast<const Bytef*>(chunk.data()), static_cast<uInt>(chunk.size()));
    if (sink) {
      return sink(chunk);
    }
    return Status::ok();
  }

  Status inflateData(const RawEntry& entry, std::string_view data, int64_t total,
                     const Sink& sink) {
    z_stream* zs = inflater_.reset();
    if (zs == nullptr) {
      return internalError("zlib could not initialise an inflate stream");
    }
    if (out_.empty()) {
      out_.resize(kChunkSize);
    }
    zs->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs->avail_in = static_cast<uInt>(data.size());
    for (;;) {
      zs->next_out = reinterpret_cast<Bytef*>(out_.data());
      zs->avail_out = static_cast<uInt>(out_.size());
      const int rc = inflate(zs, Z_NO_FLUSH);
      const size_t n = out_.size() - zs->avail_out;
      if (n > 0) {
        HEARTH_RETURN_IF_ERROR(emit(entry, std::string_view(out_.data(), n), total, sink));
      }
      if (rc == Z_STREAM_END) {
        return Status::ok();
      }
      if (rc == Z_OK) {
        continue;
      }
      if (rc == Z_MEM_ERROR) {
        return internalError("zlib ran out of memory");
      }
      if (rc == Z_BUF_ERROR && zs->avail_in == 0) {
        return entryError(entry.info.name, "compressed data is truncated");
      }
      return entryError(entry.info.name, "compressed data is corrupt");
    }
  }

  std::string_view bytes_;
  const ZipLimits& limits_;
  Inflater inflater_;
  std::string out_;
  uint64_t produced_ = 0;
  uLong crc_ = 0;
};

struct Eocd {
  uint64_t offset = 0;
  uint64_t entries = 0;
  uint64_t cd_offset = 0;
  uint64_t cd_size = 0;
};

Result<Eocd> findEocd(std::string_view bytes) {
  if (bytes.size() < kEocdSize) {
    return unzipError("the file is too short to be a zip archive");
  }
  const size_t last = bytes.size() - kEocdSize;
  const size_t first = last > kMaxCommentSize ? last - kMaxCommentSize : 0;
  for (size_t pos = last + 1; pos-- > first;) {
    if (le32(bytes, pos) != kEocdSignature ||
        pos + kEocdSize + le16(bytes, pos + 20) != bytes.size()) {
      continue;
    }
    const uint16_t disk = le16(bytes, pos + 4);
    const uint16_t cd_disk = le16(bytes, pos + 6);
    const uint16_t on_disk = le16(bytes, pos + 8);
    const uint16_t total = le16(bytes, pos + 10);
    const uint32_t cd_size = le32(bytes, pos + 12);
    const uint32_t cd_offset = le32(bytes, pos + 16);
    if (total == 0xffff || on_disk == 0xffff || cd_size == 0xffffffff || cd_offset == 0xffffffff) {
      return unzipError("ZIP64 archives are not supported");
    }
    if (disk != 0 || cd_disk != 0 || on_disk != total) {
      return unzipError("multi-disk archives are not supported");
    }
    if (static_cast<uint64_t>(cd_offset) + cd_size > pos) {
      return unzipError("the central directory lies outside the file");
    }
    return Eocd{pos, total, cd_offset, cd_size};
  }
  return unzipError("no end of central directory record; the file is not a zip archive");
}

// Fills the type and permission fields of `info` from the central-directory attributes.
Status decodeMode(uint16_t made_by, uint32_t external, ZipManifestEntry& info, bool& mode_is_dir) {
  const uint16_t host = made_by >> 8;
  const uint32_t mode = external >> 16;
  const bool has_unix_mode =
      mode != 0 && (host == kHostUnix || host == kHostMacOs || (external & kUnixExtensionFlag));
  uint32_t type = has_unix_mode ? (mode & S_IFMT) : 0;
  if (type != 0 && type != S_IFREG && type != S_IFDIR && type != S_IFLNK) {
    return entryError(info.name, "device, FIFO and socket entries are not supported");
  }
  mode_is_dir = type == S_IFDIR;
  info.is_symlink = type == S_IFLNK;
  info.unix_mode = has_unix_mode ? (mode & 07777) : 0;
  return Status::ok();
}

// Parses the central directory and checks everything that does not need entry data.
Result<std::vector<RawEntry>> parseArchive(std::string_view bytes, const ZipLimits& limits) {
  HEARTH_ASSIGN_OR_RETURN(Eocd eocd, findEocd(bytes));
  if (eocd.entries == 0) {
    return unzipError("the archive has no entries");
  }
  if (static_cast<int64_t>(eocd.entries) > limits.max_entries) {
    return unzipError("the archive has " + std::to_string(eocd.entries) +
                      " entries; the limit is " + std::to_string(limits.max_entries));
  }

  std::vector<RawEntry> entries;
  entries.reserve(eocd.entries);
  uint64_t declared_total = 0;
  size_t p = eocd.cd_offset;
  const size_t cd_end = eocd.cd_offset + eocd.cd_size;
  for (uint64_t i = 0; i < eocd.entries; ++i) {
    if (p + kCentralSize > cd_end || le32(bytes, p) != kCentralSignature) {
      return unzipError("the central directory is truncated or corrupt");
    }
    const uint16_t made_by = le16(bytes, p + 4);
    const uint16_t flags = le16(bytes, p + 8);
    const uint16_t method = le16(bytes, p + 10);
    const uint32_t crc = le32(bytes, p + 16);
    const uint32_t compressed = le32(bytes, p + 20);
    const uint32_t uncompressed = le32(bytes, p + 24);
    const uint16_t name_len = le16(bytes, p + 28);
    const uint16_t extra_len = le16(bytes, p + 30);
    const uint16_t comment_len = le16(bytes, p + 32);
    const uint16_t disk_start = le16(bytes, p + 34);
    const uint32_t external = le32(bytes, p + 38);
    const uint32_t local_offset = le32(bytes, p + 42);
    const size_t record_len = kCentralSize + name_len + extra_len + comment_len;
    if (p + record_len > cd_end) {
      return unzipError("the central directory is truncated or corrupt");
    }
    RawEntry entry;
    entry.info.name = std::string(bytes.substr(p + kCentralSize, name_len));
    p += record_len;
    const std::string& name = entry.info.name;

    if (compressed == 0xffffffff || uncompressed == 0xffffffff || local_offset == 0xffffffff ||
        disk_start == 0xffff) {
      return entryError(name, "ZIP64 entries are not supported");
    }
    if (disk_start != 0) {
      return unzipError("multi-disk archives are not supported");
    }
    if ((flags & (kFlagEncrypted | kFlagStrongEncryption)) != 0) {
      return entryError(name, "encrypted entries are not supported");
    }
    if (method != kMethodStored && method != kMethodDeflate) {
      return entryError(name, "compression method " + std::to_string(method) +
                                  " is not supported; use stored or deflate");
    }
    bool mode_is_dir = false;
    HEARTH_RETURN_IF_ERROR(decodeMode(made_by, external, entry.info, mode_is_dir));
    HEARTH_RETURN_IF_ERROR(validateName(name, mode_is_dir, entry.info));
    if (entry.info.is_dir && entry.info.is_symlink) {
      return entryError(name, "an entry cannot be both a directory and a symlink");
    }
    if (entry.info.is_dir && uncompressed != 0) {
      return entryError(name, "a directory entry has data");
    }
    if (entry.info.is_symlink && uncompressed > kMaxZipSymlinkTarget) {
      return entryError(name, "symlink target is too long");
    }
    if (entry.info.unix_mode == 0) {
      entry.info.unix_mode = entry.info.is_dir ? 0755 : 0644;
    }
    entry.info.unix_mode |=
        entry.info.is_dir ? S_IFDIR : (entry.info.is_symlink ? S_IFLNK : S_IFREG);
    entry.info.executable =
        !entry.info.is_dir && !entry.info.is_symlink && (entry.info.unix_mode & 0111) != 0;

    // The local header must agree with the central directory so that no other reader sees a
    // different archive.
    if (static_cast<uint64_t>(local_offset) + kLocalSize > eocd.cd_offset ||
        le32(bytes, local_offset) != kLocalSignature) {
      return entryError(name, "local header is missing or corrupt");
    }
    const uint16_t local_flags = le16(bytes, local_offset + 6);
    const uint16_t local_method = le16(bytes, local_offset + 8);
    const uint16_t local_name_len = le16(bytes, local_offset + 26);
    const uint16_t local_extra_len = le16(bytes, local_offset + 28);
    const uint64_t data_offset =
        static_cast<uint64_t>(local_offset) + kLocalSize + local_name_len + local_extra_len;
    if (data_offset + compressed > eocd.cd_offset) {
      return entryError(name, "entry data is truncated");
    }
    if (bytes.substr(local_offset + kLocalSize, local_name_len) != name || local_method != method ||
        (local_flags & (kFlagEncrypted | kFlagStrongEncryption)) != 0) {
      return entryError(name, "local header does not match the central directory");
    }
    entry.method = method;
    entry.crc = crc;
    entry.compressed_size = compressed;
    entry.declared_size = uncompressed;
    entry.local_offset = local_offset;
    entry.data_offset = data_offset;
    declared_total += uncompressed;
    entries.push_back(std::move(entry));
  }
  if (p != cd_end) {
    return unzipError("the central directory size does not match its entries");
  }
  if (declared_total > static_cast<uint64_t>(limits.max_uncompressed_bytes)) {
    return sizeError(limits);
  }

  // Entries may not share bytes: overlapping entries let a small file inflate many times over.
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  ranges.reserve(entries.size());
  for (const RawEntry& e : entries) {
    ranges.emplace_back(e.local_offset, e.data_offset + e.compressed_size);
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].first < ranges[i - 1].second) {
      return unzipError("entries overlap");
    }
  }

  // Paths must be unique (two directory entries may repeat), and nothing may sit beneath a file
  // or a symlink.
  std::vector<std::pair<std::string_view, const RawEntry*>> paths;
  paths.reserve(entries.size());
  for (const RawEntry& e : entries) {
    if (!e.info.path.empty()) {
      paths.emplace_back(e.info.path, &e);
    }
  }
  std::sort(paths.begin(), paths.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 1; i < paths.size(); ++i) {
    if (paths[i].first == paths[i - 1].first &&
        !(paths[i].second->info.is_dir && paths[i - 1].second->info.is_dir)) {
      return entryError(paths[i].second->info.name, "duplicate entry name");
    }
  }
  for (const auto& [path, entry] : paths) {
    if (entry->info.is_dir) {
      continue;
    }
    const std::string child_prefix = std::string(path) + '/';
    auto it = std::lower_bound(paths.begin(), paths.end(), child_prefix,
                               [](const auto& a, const std::string& b) { return a.first < b; });
    if (it != paths.end() && it->first.starts_with(child_prefix)) {
      return entryError(it->second->info.name,
                        "entry lies beneath file or symlink '" + printable(entry->info.name) + "'");
    }
  }
  return entries;
}

// Receives entries as walkZip validates them. For each directory or file: begin(), then the data
// through the returned sink, then end() once size and CRC have been verified. Symlinks arrive
// through symlink() with their validated target. Every ZipManifestEntry reference is valid until
// the callback returns.
class EntryVisitor {
 public:
  virtual ~EntryVisitor() = default;
  virtual Result<Sink> begin(const ZipManifestEntry& entry) = 0;
  virtual Status end(const ZipManifestEntry& entry) = 0;
  virtual Status symlink(const ZipManifestEntry& entry) = 0;
};

// Shared by inspectZip and extractZip: validates structure, names and symlink targets before any
// visitor call, then streams every other entry. `visitor` may be null.
Result<ZipManifest> walkZip(std::string_view bytes, const ZipLimits& limits,
                            EntryVisitor* visitor) {
  HEARTH_ASSIGN_OR_RETURN(std::vector<RawEntry> entries, parseArchive(bytes, limits));
  EntryReader reader(bytes, limits);
  int64_t total = 0;
  for (RawEntry& entry : entries) {
    if (!entry.info.is_symlink) {
      continue;
    }
    std::string target;
    const Sink collect = [&target](std::string_view chunk) {
      target.append(chunk);
      return Status::ok();
    };
    HEARTH_RETURN_IF_ERROR(reader.read(entry, &total, collect));
    HEARTH_RETURN_IF_ERROR(validateSymlinkTarget(entry.info, target));
    entry.info.symlink_target = std::move(target);
  }
  for (RawEntry& entry : entries) {
    if (entry.info.is_symlink) {
      if (visitor != nullptr) {
        HEARTH_RETURN_IF_ERROR(visitor->symlink(entry.info));
      }
      continue;
    }
    Sink sink;
    if (visitor != nullptr) {
      HEARTH_ASSIGN_OR_RETURN(sink, visitor->begin(entry.info));
    }
    HEARTH_RETURN_IF_ERROR(reader.read(entry, &total, sink));
    if (visitor != nullptr) {
      HEARTH_RETURN_IF_ERROR(visitor->end(entry.info));
    }
  }
  ZipManifest manifest;
  manifest.total_uncompressed_bytes = total;
  manifest.entries.reserve(entries.size());
  for (RawEntry& entry : entries) {
    manifest.entries.push_back(std::move(entry.info));
  }
  return manifest;
}

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void reset() {
    if (fd_ >= 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  // Closes the descriptor and reports close()'s error, which may carry a deferred write error.
  int closeChecked() {
    const int rc = ::close(std::exchange(fd_, -1));
    return rc == 0 ? 0 : errno;
  }

 private:
  int fd_ = -1;
};

// Creates entries beneath a root directory without ever following a symlink.
class Extractor final : public EntryVisitor {
 public:
  explicit Extractor(UniqueFd root) : root_(std::move(root)) {}

  Result<Sink> begin(const ZipManifestEntry& entry) override {
    if (entry.is_dir) {
      HEARTH_ASSIGN_OR_RETURN(int fd, openDir(entry.path, entry.name));
      if (fd != root_.get() && ::fchmod(fd, 0755) != 0) {
        return ioError("Could not set the mode of", entry.name, errno);
      }
      return Sink();
    }
    HEARTH_ASSIGN_OR_RETURN(int parent, openDir(parentOf(entry.path), entry.name));
    const std::string leaf = leafOf(entry.path);
    file_ = UniqueFd(
        ::openat(parent, leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!file_.valid()) {
      return ioError("Could not create", entry.name, errno);
    }
    return Sink([this, &entry](std::string_view chunk) -> Status {
      while (!chunk.empty()) {
        const ssize_t n = ::write(file_.get(), chunk.data(), chunk.size());
        if (n < 0) {
          if (errno == EINTR) {
            continue;
          }
          return ioError("Could not write", entry.name, errno);
        }
        chunk.remove_prefix(static_cast<size_t>(n));
      }
      return Status::ok();
    });
  }

  Status end(const ZipManifestEntry& entry) override {
    if (entry.is_dir) {
      return Status::ok();
    }
    if (::fchmod(file_.get(), entry.executable ? 0755 : 0644) != 0) {
      return ioError("Could not set the mode of", entry.name, errno);
    }
    const int err = file_.closeChecked();
    if (err != 0) {
      return ioError("Could not write", entry.name, err);
    }
    return Status::ok();
  }

  Status symlink(const ZipManifestEntry& entry) override {
    HEARTH_ASSIGN_OR_RETURN(int parent, openDir(parentOf(entry.path), entry.name));
    const std::string leaf = leafOf(entry.path);
    if (::symlinkat(entry.symlink_target.c_str(), parent, leaf.c_str()) != 0) {
      return ioError("Could not create symlink", entry.name, errno);
    }
    return Status::ok();
  }

 private:
  static std::string parentOf(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? std::string() : path.substr(0, slash);
  }
  static std::string leafOf(const std::string& path) {
    const size_t slash = path.rfind('/');
    return slash == std::string::npos ? path : path.substr(slash + 1);
  }

  // Returns a descriptor for the directory at `path` (relative to the root, "" = the root),
  // creating missing components. The descriptor stays owned by this object and is valid until the
  // next call.
  Result<int> openDir(const std::string& path, std::string_view entry_name) {
    if (path.empty()) {
      return root_.get();
    }
    if (cached_valid_ && path == cached_path_) {
      return cached_fd_.get();
    }
    cached_valid_ = false;
    UniqueFd current;
    int current_fd = root_.get();
    for (std::string_view seg : splitPath(path)) {
      const std::string name(seg);
      bool created = false;
      if (::mkdirat(current_fd, name.c_str(), 0700) == 0) {
        created = true;
      } else if (errno != EEXIST) {
        return ioError("Could not create a directory for", entry_name, errno);
      }
      UniqueFd next(
          ::openat(current_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!next.valid()) {
        return ioError("A path component is not a directory for", entry_name, errno);
      }
      if (created && ::fchmod(next.get(), 0755) != 0) {
        return ioError("Could not set a directory mode for", entry_name, errno);
      }
      current = std::move(next);
      current_fd = current.get();
    }
    cached_fd_ = std::move(current);
    cached_path_ = path;
    cached_valid_ = true;
    return cached_fd_.get();
  }

  UniqueFd root_;
  UniqueFd file_;
  UniqueFd cached_fd_;
  std::string cached_path_;
  bool cached_valid_ = false;
};

}  // namespace

Result<ZipManifest> inspectZip(std::string_view bytes, const ZipLimits& limits) {
  return walkZip(bytes, limits, nullptr);
}

Status extractZip(std::string_view bytes, const std::string& dest_dir, const ZipLimits& limits) {
  UniqueFd root(::open(dest_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) {
    return ioError("Could not open the destination directory", dest_dir, errno);
  }
  Extractor extractor(std::move(root));
  return walkZip(bytes, limits, &extractor).status();
}

}  // namespace hearth
