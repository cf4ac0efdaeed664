#include "net/request_framing.h"

#include <gtest/gtest.h>

namespace hearth {
namespace {

FramingVerdict check(std::vector<std::string_view> values, int minor = 1) {
  return checkTransferEncoding(minor, values);
}

TEST(RequestFraming, NoTransferEncodingIsFine) {
  EXPECT_EQ(check({}), FramingVerdict::kOk);
}

TEST(RequestFraming, ChunkedAloneIsFineInAnyCase) {
  EXPECT_EQ(check({"chunked"}), FramingVerdict::kOk);
  EXPECT_EQ(check({"Chunked"}), FramingVerdict::kOk);
  EXPECT_EQ(check({" CHUNKED\t"}), FramingVerdict::kOk);
  EXPECT_EQ(check({", chunked ,"}), FramingVerdict::kOk);
}

// The smuggling reproducers: a final coding other than chunked leaves the body length unknown.
TEST(RequestFraming, UnknownOrNonFinalChunkedIsABadRequest) {
  EXPECT_EQ(check({"xchunked"}), FramingVerdict::kBadRequest);
  EXPECT_EQ(check({"gzip"}), FramingVerdict::kBadRequest);
  EXPECT_EQ(check({"chunked, identity"}), FramingVerdict::kBadRequest);
  EXPECT_EQ(check({"chunked", "identity"}), FramingVerdict::kBadRequest);
  EXPECT_EQ(check({"identity"}), FramingVerdict::kBadRequest);
  EXPECT_EQ(check({"chunked;ext=1"}), FramingVerdict::kBadRequest);
  EXPECT_EQ(check({""}), FramingVerdict::kBadRequest);
  EXPECT_EQ(check({" , "}), FramingVerdict::kBadRequest);
}

TEST(RequestFraming, ChunkedTwiceIsABadRequest) {
  EXPECT_EQ(check({"chunked, chunked"}), FramingVerdict::kBadRequest);
  EXPECT_EQ(check({"chunked", "chunked"}), FramingVerdict::kBadRequest);
  EXPECT_EQ(check({"chunked;a=b, chunked"}), FramingVerdict::kBadRequest);
}

TEST(RequestFraming, OtherCodingsBeforeChunkedAreNotImplemented) {
  EXPECT_EQ(check({"gzip, chunked"}), FramingVerdict::kNotImplemented);
  EXPECT_EQ(check({"gzip", "chunked"}), FramingVerdict::kNotImplemented);
  EXPECT_EQ(check({"x-custom;q=1, chunked"}), FramingVerdict::kNotImplemented);
}

TEST(RequestFraming, AnyTransferEncodingInHttp10IsABadRequest) {
  EXPECT_EQ(check({"chunked"}, 0), FramingVerdict::kBadRequest);
  EXPECT_EQ(check({}, 0), FramingVerdict::kOk);
}

}  // namespace
}  // namespace hearth
