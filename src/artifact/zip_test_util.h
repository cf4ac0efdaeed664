#pragma once

// Test-only helpers that build zip archives in memory, including deliberately malformed ones.

#include <zlib.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::ziptest {

inline constexpr uint32_t kModeFile = 0100644;
inline constexpr uint32_t kModeExec = 0100755;
inline constexpr uint32_t kModeDir = 040755;
inline constexpr uint32_t kModeSymlink = 0120777;

struct TestEntry {
  std::string name;
  std::string data;  // Uncompressed content; for a symlink, its target.
  bool deflate = false;
  uint32_t unix_mode = 0;  // 0 writes MS-DOS attributes with no Unix mode.
  uint16_t flags = 0;
  std::optional<uint16_t> method;             // Overrides the method written in both headers.
  std::optional<uint32_t> crc;                // Overrides the CRC-32 of `data`.
  std::optional<uint32_t> uncompressed_size;  // Overrides data.size() in both headers.
  std::optional<std::string> compressed;      // Written verbatim instead of encoding `data`.
  std::optional<std::string> local_name;      // Name written in the local header only.
  std::optional<uint32_t> local_offset;       // Central record points here instead.
  bool omit_local = false;                    // Write no local header or data.
};

struct ZipOptions {
  std::string comment;
  std::optional<uint16_t> entry_count;  // Overrides the EOCD entry counts.
};

inline std::string deflateRaw(std::string_view data, int level = Z_BEST_COMPRESSION) {
  z_stream zs{};
  deflateInit2(&zs, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, data.size()), '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

inline uint32_t crc32Of(std::string_view data) {
  return static_cast<uint32_t>(crc32(crc32(0L, Z_NULL, 0),
                                     reinterpret_cast<const Bytef*>(data.data()),
                                     static_cast<uInt>(data.size())));
}

// A raw deflate stream of `n` zero bytes and the CRC-32 of those bytes. Built from one compressed
// 1 MiB block repeated (each block is flushed to a byte boundary with a reset dictionary), so it
// is fast even for hundreds of megabytes. REQUIRES: n is a multiple of 1 MiB.
inline std::string deflateZeros(uint64_t n, uint32_t* crc) {
  constexpr size_t kBlock = 1 << 20;
  const std::string zeros(kBlock, '\0');
  z_stream zs{};
  deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string block(deflateBound(&zs, kBlock) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(zeros.data()));
  zs.avail_in = kBlock;
  zs.next_out = reinterpret_cast<Bytef*>(block.data());
  zs.avail_out = static_cast<uInt>(block.size());
  deflate(&zs, Z_FULL_FLUSH);
  block.resize(zs.total_out);
  std::string tail(64, '\0');
  zs.next_out = reinterpret_cast<Bytef*>(tail.data());
  zs.avail_out = static_cast<uInt>(tail.size());
  deflate(&zs, Z_FINISH);
  tail.resize(zs.total_out - block.size());
  deflateEnd(&zs);

  std::string out;
  out.reserve(block.size() * (n / kBlock) + tail.size());
  uLong c = crc32(0L, Z_NULL, 0);
  for (uint64_t i = 0; i < n / kBlock; ++i) {
    out += block;
    c = crc32(c, reinterpret_cast<const Bytef*>(zeros.data()), kBlock);
  }
  out += tail;
  *crc = static_cast<uint32_t>(c);
  return out;
}

inline void put16(std::string& out, uint32_t v) {
  out += static_cast<char>(v & 0xff);
  out += static_cast<char>((v >> 8) & 0xff);
}

inline void put32(std::string& out, uint32_t v) {
  put16(out, v & 0xffff);
  put16(out, v >> 16);
}

inline std::string buildZip(const std::vector<TestEntry>& entries, const ZipOptions& options = {}) {
  std::string out;
  std::string central;
  for (const TestEntry& e : entries) {
    const std::string payload =
        e.compressed ? *e.compressed : (e.deflate ? deflateRaw(e.data) : e.data);
    const uint16_t method = e.method ? *e.method : (e.deflate ? 8 : 0);
    const uint32_t crc = e.crc ? *e.crc : crc32Of(e.data);
    const uint32_t size =
        e.uncompressed_size ? *e.uncompressed_size : static_cast<uint32_t>(e.data.size());
    const uint32_t offset = static_cast<uint32_t>(out.size());
    if (!e.omit_local) {
      const std::string& local_name = e.local_name ? *e.local_name : e.name;
      put32(out, 0x04034b50);
      put16(out, 20);
      put16(out, e.flags);
      put16(out, method);
      put16(out, 0);     // time
      put16(out, 0x21);  // date: 1980-01-01
      put32(out, crc);
      put32(out, static_cast<uint32_t>(payload.size()));
      put32(out, size);
      put16(out, static_cast<uint32_t>(local_name.size()));
      put16(out, 0);
      out += local_name;
      out += payload;
    }
    put32(central, 0x02014b50);
    put16(central, e.unix_mode != 0 ? (3 << 8) | 20 : 20);
    put16(central, 20);
    put16(central, e.flags);
    put16(central, method);
    put16(central, 0);
    put16(central, 0x21);
    put32(central, crc);
    put32(central, static_cast<uint32_t>(payload.size()));
    put32(central, size);
    put16(central, static_cast<uint32_t>(e.name.size()));
    put16(central, 0);  // extra
    put16(central, 0);  // comment
    put16(central, 0);  // disk
    put16(central, 0);  // internal attributes
    const bool dir = !e.name.empty() && e.name.back() == '/';
    put32(central, (e.unix_mode << 16) | (dir ? 0x10 : 0));
    put32(central, e.local_offset ? *e.local_offset : offset);
    central += e.name;
  }
  const uint32_t cd_offset = static_cast<uint32_t>(out.size());
  out += central;
  const uint16_t count =
      options.entry_count ? *options.entry_count : static_cast<uint16_t>(entries.size());
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, count);
  put16(out, count);
  put32(out, static_cast<uint32_t>(central.size()));
  put32(out, cd_offset);
  put16(out, static_cast<uint32_t>(options.comment.size()));
  out += options.comment;
  return out;
}

}  // namespace hearth::ziptest
