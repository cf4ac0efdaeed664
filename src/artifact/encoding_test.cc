#include "artifact/encoding.h"

#include <gtest/gtest.h>

#include <string>

namespace hearth {
namespace {

TEST(EncodingTest, Base64Rfc4648Vectors) {
  EXPECT_EQ(base64Encode(""), "");
  EXPECT_EQ(base64Encode("f"), "Zg==");
  EXPECT_EQ(base64Encode("fo"), "Zm8=");
  EXPECT_EQ(base64Encode("foo"), "Zm9v");
  EXPECT_EQ(base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64Encode(std::string("\xfb\xff\xbf", 3)), "+/+/");

  for (const char* text : {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"}) {
    auto decoded = base64Decode(text);
    ASSERT_TRUE(decoded.isOk()) << text;
    EXPECT_EQ(base64Encode(*decoded), text);
  }
  EXPECT_EQ(*base64Decode("Zm9vYmE="), "fooba");
  EXPECT_EQ(*base64Decode("+/+/"), std::string("\xfb\xff\xbf", 3));
}

TEST(EncodingTest, Base64RoundTripsAllBytes) {
  std::string all;
  for (int i = 0; i < 256; ++i) {
    all += static_cast<char>(i);
  }
  for (size_t len = 0; len <= all.size(); ++len) {
    const std::string input = all.substr(0, len);
    auto decoded = base64Decode(base64Encode(input));
    ASSERT_TRUE(decoded.isOk());
    EXPECT_EQ(*decoded, input);
  }
}

TEST(EncodingTest, Base64DecodeIsStrict) {
  for (const std::string text : {"Zg", "Zg=", "Zm9", "Z===", "====", "Zg==Zg==", "Zm=v", "Zh==",
                                 "Zm9=", "Zm9v\n", " Zm9v", "Zm9*", "Zm9-", "Zm9_", "Zg=a"}) {
    SCOPED_TRACE(text);
    auto decoded = base64Decode(text);
    ASSERT_FALSE(decoded.isOk());
    EXPECT_EQ(decoded.status().code(), StatusCode::kInvalidParameter);
  }
  EXPECT_FALSE(base64Decode(std::string("Zm9\0", 4)).isOk());
}

TEST(EncodingTest, Sha256KnownVectors) {
  EXPECT_EQ(sha256Raw("").size(), 32u);
  EXPECT_EQ(hexEncode(sha256Raw("")),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hexEncode(sha256Raw("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hexEncode(sha256Raw("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  // CodeSha256 as AWS reports it for empty content.
  EXPECT_EQ(base64Encode(sha256Raw("")), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
  EXPECT_EQ(base64Encode(sha256Raw("abc")), "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=");
}

TEST(EncodingTest, HexEncode) {
  EXPECT_EQ(hexEncode(""), "");
  EXPECT_EQ(hexEncode(std::string("\x00\x01\x7f\x80\xab\xff", 6)), "00017f80abff");
}

}  // namespace
}  // namespace hearth
