#include "artifact/zip_reader.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "artifact/zip_test_util.h"

namespace hearth {
namespace {

namespace fs = std::filesystem;
using ziptest::buildZip;
using ziptest::kModeDir;
using ziptest::kModeExec;
using ziptest::kModeFile;
using ziptest::kModeSymlink;
using ziptest::TestEntry;

constexpr std::string_view kUnzipPrefix =
    "Could not unzip uploaded file. Please check your file, then try to upload again.";

ZipLimits smallLimits() {
  ZipLimits limits;
  limits.max_uncompressed_bytes = 1 << 20;
  limits.max_entries = 100;
  return limits;
}

// Asserts that `zip` is rejected as an unusable package.
void expectUnzipError(const std::string& zip, const ZipLimits& limits = ZipLimits()) {
  auto result = inspectZip(zip, limits);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidParameter);
  EXPECT_TRUE(result.status().message().starts_with(kUnzipPrefix)) << result.status().message();
}

// Asserts that `zip` is rejected as an unusable package for a reason mentioning `reason`.
void expectRejectedFor(const std::string& zip, std::string_view reason) {
  auto result = inspectZip(zip, ZipLimits());
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidParameter);
  EXPECT_TRUE(result.status().message().starts_with(kUnzipPrefix)) << result.status().message();
  EXPECT_NE(result.status().message().find(reason), std::string::npos) << result.status().message();
}

void expectSizeError(const std::string& zip, const ZipLimits& limits) {
  auto result = inspectZip(zip, limits);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidParameter);
  EXPECT_EQ(result.status().message(), "Unzipped size must be smaller than " +
                                           std::to_string(limits.max_uncompressed_bytes) +
                                           " bytes");
}

TestEntry file(std::string name, std::string data, bool deflate = false) {
  TestEntry e;
  e.name = std::move(name);
  e.data = std::move(data);
  e.deflate = deflate;
  e.unix_mode = kModeFile;
  return e;
}

TestEntry symlink(std::string name, std::string target) {
  TestEntry e;
  e.name = std::move(name);
  e.data = std::move(target);
  e.unix_mode = kModeSymlink;
  return e;
}

std::string sampleZip() {
  TestEntry dir;
  dir.name = "lib/";
  dir.unix_mode = kModeDir;
  TestEntry exec = file("bin/run", "#!/bin/sh\necho hi\n");
  exec.unix_mode = kModeExec;
  return buildZip({
      file("index.js", "exports.handler = async () => 'ok';\n"),
      dir,
      file("lib/data.txt", std::string(10000, 'x'), /*deflate=*/true),
      exec,
      symlink("lib/link", "data.txt"),
  });
}

TEST(ZipReaderTest, ValidArchiveManifest) {
  auto result = inspectZip(sampleZip(), ZipLimits());
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  const ZipManifest& m = *result;
  ASSERT_EQ(m.entries.size(), 5u);

  EXPECT_EQ(m.entries[0].name, "index.js");
  EXPECT_EQ(m.entries[0].uncompressed_size, 36);
  EXPECT_FALSE(m.entries[0].is_dir);
  EXPECT_FALSE(m.entries[0].executable);
  EXPECT_EQ(m.entries[0].unix_mode, 0100644u);

  EXPECT_EQ(m.entries[1].name, "lib/");
  EXPECT_EQ(m.entries[1].path, "lib");
  EXPECT_TRUE(m.entries[1].is_dir);

  EXPECT_EQ(m.entries[2].uncompressed_size, 10000);

  EXPECT_EQ(m.entries[3].path, "bin/run");
  EXPECT_TRUE(m.entries[3].executable);
  EXPECT_EQ(m.entries[3].unix_mode, 0100755u);

  EXPECT_TRUE(m.entries[4].is_symlink);
  EXPECT_EQ(m.entries[4].symlink_target, "data.txt");
  EXPECT_FALSE(m.entries[4].executable);

  EXPECT_EQ(m.total_uncompressed_bytes, 36 + 10000 + 18 + 8);
}

TEST(ZipReaderTest, EntriesWithoutUnixModeGetDefaults) {
  TestEntry f;
  f.name = "a.txt";
  f.data = "hello";
  TestEntry d;
  d.name = "d/";
  auto result = inspectZip(buildZip({f, d}), ZipLimits());
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ(result->entries[0].unix_mode, 0100644u);
  EXPECT_FALSE(result->entries[0].executable);
  EXPECT_EQ(result->entries[1].unix_mode, 040755u);
  EXPECT_TRUE(result->entries[1].is_dir);
}

TEST(ZipReaderTest, TrailingCommentAccepted) {
  ziptest::ZipOptions options;
  options.comment = "built by a tool PK\x05\x06 with a fake signature inside";
  auto result = inspectZip(buildZip({file("a", "b")}, options), ZipLimits());
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ(result->entries.size(), 1u);
}

TEST(ZipReaderTest, NotAZipRejected) {
  expectUnzipError("");
  expectUnzipError("hello world");
  expectUnzipError(std::string(1000, '\0'));
  std::string random;
  uint32_t x = 12345;
  for (int i = 0; i < 5000; ++i) {
    x = x * 1103515245 + 12345;
    random += static_cast<char>(x >> 24);
  }
  expectUnzipError(random);
}

TEST(ZipReaderTest, EmptyArchiveRejected) {
  expectUnzipError(buildZip({}));
}

TEST(ZipReaderTest, EveryTruncationRejected) {
  const std::string zip = sampleZip();
  for (size_t len = 0; len < zip.size(); ++len) {
    SCOPED_TRACE(len);
    expectUnzipError(zip.substr(0, len));
  }
}

TEST(ZipReaderTest, AppendedGarbageRejected) {
  expectUnzipError(sampleZip() + "garbage");
}

TEST(ZipReaderTest, ByteMutationsNeverCrash) {
  const std::string zip = sampleZip();
  for (size_t i = 0; i < zip.size(); ++i) {
    for (char v : {'\x00', '\xff', '\x7f'}) {
      std::string mutated = zip;
      mutated[i] = v;
      auto result = inspectZip(mutated, smallLimits());
      if (!result.isOk()) {
        EXPECT_EQ(result.status().code(), StatusCode::kInvalidParameter);
      }
    }
  }
}

TEST(ZipReaderTest, CorruptDeflateDataRejected) {
  TestEntry e = file("a.txt", "hello hello hello", /*deflate=*/true);
  e.compressed = std::string("\xff\xff\xff\xff\xff\xff", 6);
  expectRejectedFor(buildZip({e}), "corrupt");
}

TEST(ZipReaderTest, TruncatedDeflateStreamRejected) {
  TestEntry e = file("a.txt", std::string(5000, 'q'), /*deflate=*/true);
  std::string full = ziptest::deflateRaw(e.data);
  e.compressed = full.substr(0, full.size() / 2);
  expectRejectedFor(buildZip({e}), "truncated");
}

TEST(ZipReaderTest, BadCrcRejected) {
  TestEntry stored = file("a.txt", "content");
  stored.crc = ziptest::crc32Of("content") ^ 1;
  expectRejectedFor(buildZip({stored}), "CRC-32 mismatch");

  TestEntry deflated = file("b.txt", std::string(3000, 'z'), /*deflate=*/true);
  deflated.crc = 0;
  expectRejectedFor(buildZip({deflated}), "CRC-32 mismatch");
}

TEST(ZipReaderTest, LyingUncompressedSizeRejected) {
  for (bool deflate : {false, true}) {
    SCOPED_TRACE(deflate);
    TestEntry smaller = file("a", std::string(1000, 'a'), deflate);
    smaller.uncompressed_size = 10;
    expectRejectedFor(buildZip({smaller}), "longer than the central directory");

    TestEntry larger = file("a", std::string(1000, 'a'), deflate);
    larger.uncompressed_size = 2000;
    expectRejectedFor(buildZip({larger}), "size does not match");
  }
}

TEST(ZipReaderTest, UnsupportedFeaturesRejected) {
  TestEntry bzip2 = file("a", "data");
  bzip2.method = 12;
  expectRejectedFor(buildZip({bzip2}), "compression method 12");

  TestEntry encrypted = file("a", "data");
  encrypted.flags = 1;
  expectRejectedFor(buildZip({encrypted}), "encrypted");

  TestEntry zip64 = file("a", "data");
  zip64.uncompressed_size = 0xffffffff;
  auto result = inspectZip(buildZip({zip64}), ZipLimits());
  ASSERT_FALSE(result.isOk());
  EXPECT_NE(result.status().message().find("ZIP64"), std::string::npos);

  TestEntry device = file("dev", "");
  device.unix_mode = 020644;  // S_IFCHR
  expectRejectedFor(buildZip({device}), "device");
}

TEST(ZipReaderTest, EocdCountMismatchRejected) {
  ziptest::ZipOptions options;
  options.entry_count = 1;
  expectUnzipError(buildZip({file("a", "1"), file("b", "2")}, options));
  options.entry_count = 3;
  expectUnzipError(buildZip({file("a", "1"), file("b", "2")}, options));
}

TEST(ZipReaderTest, LocalHeaderMismatchRejected) {
  TestEntry e = file("innocent.txt", "data");
  e.local_name = "../../evil.txt";
  expectRejectedFor(buildZip({e}), "local header does not match");
}

TEST(ZipReaderTest, OverlappingEntriesRejected) {
  // Two central records for one local header, under different names.
  TestEntry a = file("a", std::string(100, 'a'));
  TestEntry b = a;
  b.name = "a";
  b.omit_local = true;
  b.local_offset = 0;
  auto result = inspectZip(buildZip({a, b}), ZipLimits());
  ASSERT_FALSE(result.isOk());
  EXPECT_NE(result.status().message().find("overlap"), std::string::npos);

  // An entry whose local header sits inside another entry's data.
  TestEntry inner = file("b", "inner");
  std::string inner_zip = buildZip({inner});
  std::string inner_local = inner_zip.substr(0, 30 + 1 + 5);
  TestEntry outer = file("a", inner_local);
  TestEntry alias = inner;
  alias.omit_local = true;
  alias.local_offset = 30 + 1;  // Start of outer's data.
  result = inspectZip(buildZip({outer, alias}), ZipLimits());
  ASSERT_FALSE(result.isOk());
  EXPECT_NE(result.status().message().find("overlap"), std::string::npos);
}

TEST(ZipReaderTest, ZipSlipRejected) {
  expectRejectedFor(buildZip({file("../evil", "x")}), "'..' path segment");
  expectRejectedFor(buildZip({file("a/../../evil", "x")}), "'..' path segment");
  expectRejectedFor(buildZip({file("ok", "x"), file("a/b/../../../evil", "x")}), "'..'");
  expectRejectedFor(buildZip({file("/etc/passwd", "x")}), "absolute path");
  expectRejectedFor(buildZip({file("C:/Windows/evil", "x")}), "absolute path");
  expectRejectedFor(buildZip({file("C:\\Windows\\evil", "x")}), "backslash");
  expectRejectedFor(buildZip({file(std::string("a\0b", 3), "x")}), "NUL");
}

TEST(ZipReaderTest, UnsafeNamesRejected) {
  for (const std::string& name : std::vector<std::string>{
           "../evil", "a/../../evil", "a/../b", "..", "x/..", "/abs", "/", "C:\\evil", "C:/evil",
           "c:evil", "a\\b", std::string("a\0b", 3), "."}) {
    SCOPED_TRACE(name);
    expectUnzipError(buildZip({file(name, "data")}));
  }
  expectUnzipError(buildZip({file(std::string(300, 'n'), "data")}));
  expectUnzipError(buildZip({file(std::string(5000, 'n'), "data")}));
}

TEST(ZipReaderTest, DotSegmentsNormalised) {
  auto result = inspectZip(buildZip({file("./a//b/./c", "x")}), ZipLimits());
  ASSERT_TRUE(result.isOk()) << result.status().toString();
  EXPECT_EQ(result->entries[0].path, "a/b/c");
}

TEST(ZipReaderTest, DuplicateNamesRejected) {
  expectRejectedFor(buildZip({file("a", "1"), file("a", "2")}), "duplicate");
  expectRejectedFor(buildZip({file("a", "1"), file("./a", "2")}), "duplicate");
  expectRejectedFor(buildZip({file("a", "1"), symlink("a", "b")}), "duplicate");
  TestEntry d;
  d.name = "d/";
  TestEntry d2;
  d2.name = "./d/";
  auto result = inspectZip(buildZip({d, d2}), ZipLimits());
  EXPECT_TRUE(result.isOk()) << result.status().toString();
}

TEST(ZipReaderTest, EntryBeneathFileOrSymlinkRejected) {
  expectRejectedFor(buildZip({file("f", "1"), file("f/g", "2")}), "beneath");
  expectRejectedFor(buildZip({file("f/g", "2"), file("f", "1")}), "beneath");
  expectRejectedFor(buildZip({symlink("lnk", "dir"), file("lnk/evil", "2")}), "beneath");
  expectRejectedFor(buildZip({symlink("lnk", "dir"), file("lnk/deep/evil", "2")}), "beneath");
  // Siblings that merely share a prefix are fine.
  auto result =
      inspectZip(buildZip({file("f", "1"), file("f-x/g", "2"), file("f.y", "3")}), ZipLimits());
  EXPECT_TRUE(result.isOk()) << result.status().toString();
}

TEST(ZipReaderTest, EscapingSymlinksRejected) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"link", "../../etc/passwd"},
      {"link", "/etc"},
      {"link", ".."},
      {"a/link", "../.."},
      {"a/b/l", "x/../../.."},
      {"a/l", "b/../.."},
      {"a/l", "b/.."},
      {"l", ""},
      {"l", "C:/x"},
      {"l", "a\\b"},
      {"l", std::string("a\0b", 3)},
  };
  for (const auto& [name, target] : cases) {
    SCOPED_TRACE(name + " -> " + target);
    expectUnzipError(buildZip({symlink(name, target)}));
  }
  expectUnzipError(buildZip({symlink("l", std::string(5000, 'a'))}));
  TestEntry lying = symlink("l", std::string(5000, 'a'));
  lying.uncompressed_size = 10;
  expectUnzipError(buildZip({lying}));
}

TEST(ZipReaderTest, SymlinkRejectionReasons) {
  expectRejectedFor(buildZip({symlink("link", "../../etc/passwd")}), "outside the archive");
  expectRejectedFor(buildZip({symlink("a/link", "../../x")}), "outside the archive");
  expectRejectedFor(buildZip({symlink("link", "/etc")}), "absolute path");
  expectRejectedFor(buildZip({symlink("a/b/l", "x/../../..")}), "'..' after a directory name");
}

TEST(ZipReaderTest, SymlinksInsideRootAccepted) {
  for (const auto& [name, target] : std::vector<std::pair<std::string, std::string>>{
           {"a/b/l", "../c"},
           {"l", "a/b"},
           {"a/l", ".."},
           {"a/b/l", "../../x/./y"},
           {"l", "."},
           {"node_modules/.bin/tool", "../tool/bin/cli.js"},
       }) {
    SCOPED_TRACE(name + " -> " + target);
    auto result = inspectZip(buildZip({symlink(name, target)}), ZipLimits());
    ASSERT_TRUE(result.isOk()) << result.status().toString();
    EXPECT_TRUE(result->entries[0].is_symlink);
    EXPECT_EQ(result->entries[0].symlink_target, target);
  }
}

TEST(ZipReaderTest, TotalSizeLimit) {
  ZipLimits limits;
  limits.max_uncompressed_bytes = 100;
  expectSizeError(buildZip({file("a", std::string(60, 'a')), file("b", std::string(60, 'b'))}),
                  limits);
  auto at_limit = inspectZip(
      buildZip({file("a", std::string(50, 'a')), file("b", std::string(50, 'b'))}), limits);
  EXPECT_TRUE(at_limit.isOk()) << at_limit.status().toString();
}

TEST(ZipReaderTest, DeclaredSizesDoNotBoundWork) {
  // Both entries claim 10 bytes but inflate to far more; streaming stops at the cap.
  ZipLimits limits;
  limits.max_uncompressed_bytes = 100000;
  TestEntry a = file("a", std::string(1 << 20, '\0'), /*deflate=*/true);
  a.uncompressed_size = 10;
  auto result = inspectZip(buildZip({a}), limits);
  ASSERT_FALSE(result.isOk());
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidParameter);
}

// 300 MB of zeros deflates to about 300 KB; the default limit must reject it.
TEST(ZipReaderTest, DeflateBombRejected) {
  constexpr uint64_t kBombSize = 300ull << 20;
  uint32_t crc = 0;
  const std::string stream = ziptest::deflateZeros(kBombSize, &crc);
  ASSERT_LT(stream.size(), 1u << 20);

  TestEntry honest;
  honest.name = "zeros.bin";
  honest.unix_mode = kModeFile;
  honest.method = 8;
  honest.compressed = stream;
  honest.crc = crc;
  honest.uncompressed_size = static_cast<uint32_t>(kBombSize);
  const auto start = std::chrono::steady_clock::now();
  expectSizeError(buildZip({honest}), ZipLimits());

  // Lying about the size does not help: inflation stops early.
  TestEntry lying = honest;
  lying.uncompressed_size = 1000;
  expectUnzipError(buildZip({lying}));

  // Nor does spreading the bomb over entries that each claim a plausible size.
  std::vector<TestEntry> many;
  for (int i = 0; i < 3; ++i) {
    TestEntry e = honest;
    e.name = "zeros" + std::to_string(i);
    e.uncompressed_size = 80u << 20;
    many.push_back(e);
  }
  expectUnzipError(buildZip(many));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(ZipReaderTest, BombStopsAtTotalCap) {
  // The entry claims 10 bytes; the first inflated chunk already crosses the cap.
  ZipLimits limits;
  limits.max_uncompressed_bytes = 1000;
  uint32_t crc = 0;
  TestEntry e;
  e.name = "z";
  e.method = 8;
  e.compressed = ziptest::deflateZeros(64 << 20, &crc);
  e.crc = crc;
  e.uncompressed_size = 10;
  expectSizeError(buildZip({e}), limits);
}

TEST(ZipReaderTest, EntryCountLimit) {
  ZipLimits limits;
  limits.max_entries = 3;
  EXPECT_TRUE(inspectZip(buildZip({file("a", ""), file("b", ""), file("c", "")}), limits).isOk());
  expectUnzipError(buildZip({file("a", ""), file("b", ""), file("c", ""), file("d", "")}), limits);
}

TEST(ZipReaderTest, DefaultEntryCountLimit) {
  std::vector<TestEntry> entries;
  for (int i = 0; i < 20000; ++i) {
    TestEntry e;
    e.name = "f" + std::to_string(i);
    entries.push_back(e);
  }
  auto ok = inspectZip(buildZip(entries), ZipLimits());
  ASSERT_TRUE(ok.isOk()) << ok.status().toString();
  EXPECT_EQ(ok->entries.size(), 20000u);
  TestEntry extra;
  extra.name = "one-too-many";
  entries.push_back(extra);
  expectUnzipError(buildZip(entries));
}

// A private directory removed at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "hearth-zip-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string readFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Sets a restrictive umask for the scope to show that extracted modes do not depend on it.
class ScopedUmask {
 public:
  explicit ScopedUmask(mode_t mask) : old_(::umask(mask)) {}
  ~ScopedUmask() { ::umask(old_); }

 private:
  mode_t old_;
};

TEST(ExtractZipTest, WritesFilesDirsAndSymlinks) {
  TempDir tmp;
  ScopedUmask umask(077);
  ASSERT_TRUE(extractZip(sampleZip(), tmp.path(), ZipLimits()).isOk());
  const fs::path root(tmp.path());

  EXPECT_EQ(readFile(root / "index.js"), "exports.handler = async () => 'ok';\n");
  EXPECT_EQ(readFile(root / "lib/data.txt"), std::string(10000, 'x'));

  struct stat st {};
  ASSERT_EQ(::stat((root / "bin/run").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat((root / "index.js").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0644u);
  ASSERT_EQ(::stat((root / "bin").c_str(), &st), 0);  // Implicit parent.
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0755u);

  ASSERT_EQ(::lstat((root / "lib/link").c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(fs::read_symlink(root / "lib/link"), "data.txt");
  EXPECT_EQ(readFile(root / "lib/link"), std::string(10000, 'x'));
}

TEST(ExtractZipTest, DoesNotFollowPreexistingSymlinkDirectory) {
  TempDir tmp;
  TempDir outside;
  const fs::path root(tmp.path());
  fs::create_directory_symlink(outside.path(), root / "lib");

  EXPECT_FALSE(
      extractZip(buildZip({file("lib/evil.txt", "pwned")}), tmp.path(), ZipLimits()).isOk());
  EXPECT_FALSE(fs::exists(fs::path(outside.path()) / "evil.txt"));
}

TEST(ExtractZipTest, DoesNotWriteThroughPreexistingSymlinkFile) {
  TempDir tmp;
  TempDir outside;
  const fs::path target = fs::path(outside.path()) / "victim";
  { std::ofstream(target) << "original"; }
  fs::create_symlink(target, fs::path(tmp.path()) / "index.js");

  EXPECT_FALSE(extractZip(buildZip({file("index.js", "pwned")}), tmp.path(), ZipLimits()).isOk());
  EXPECT_EQ(readFile(target), "original");
}

TEST(ExtractZipTest, InvalidArchiveWritesNothing) {
  TempDir tmp;
  for (const std::string& zip : {
           buildZip({file("ok.txt", "fine"), file("../evil", "pwned")}),
           buildZip({file("ok.txt", "fine"), symlink("link", "/etc")}),
           buildZip({file("ok.txt", "fine"), symlink("link", "dir"), file("link/x", "pwned")}),
       }) {
    Status status = extractZip(zip, tmp.path(), ZipLimits());
    EXPECT_EQ(status.code(), StatusCode::kInvalidParameter);
    EXPECT_TRUE(fs::is_empty(tmp.path()));
  }
}

TEST(ExtractZipTest, BadCrcFails) {
  TempDir tmp;
  TestEntry e = file("a.txt", "content");
  e.crc = 7;
  EXPECT_EQ(extractZip(buildZip({e}), tmp.path(), ZipLimits()).code(),
            StatusCode::kInvalidParameter);
}

TEST(ExtractZipTest, MissingDestinationFails) {
  TempDir tmp;
  Status status = extractZip(sampleZip(), tmp.path() + "/missing", ZipLimits());
  EXPECT_EQ(status.code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace hearth
