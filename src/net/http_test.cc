#include "net/http.h"
#include "net/http_client.h"

#include <gtest/gtest.h>

namespace hearth {
namespace {

TEST(ParseTarget, SplitsPathAndDecodesQuery) {
  ParsedTarget target;
  ASSERT_TRUE(
      parseTarget("/2017-03-31/tags/arn%3Aaws%3Alambda?tagKeys=a&tagKeys=b%20c&x=1+2", &target));
  EXPECT_EQ(target.path, "/2017-03-31/tags/arn:aws:lambda");
  EXPECT_EQ(target.raw_path, "/2017-03-31/tags/arn%3Aaws%3Alambda");
  EXPECT_EQ(target.params("tagKeys"), (std::vector<std::string>{"a", "b c"}));
  ASSERT_NE(target.param("x"), nullptr);
  EXPECT_EQ(*target.param("x"), "1 2");
  EXPECT_EQ(target.param("missing"), nullptr);
}

TEST(ParseTarget, RejectsBadEscapes) {
  ParsedTarget target;
  EXPECT_FALSE(parseTarget("/a%2", &target));
  EXPECT_FALSE(parseTarget("/a%zz", &target));
  EXPECT_FALSE(parseTarget("/a?b=%", &target));
}

TEST(PercentEncode, KeepsUnreserved) {
  EXPECT_EQ(percentEncode("a-b_c.d~e f:/"), "a-b_c.d~e%20f%3A%2F");
}

TEST(FindHeader, IsCaseInsensitive) {
  HeaderList headers{{"Content-Type", "application/json"}};
  ASSERT_NE(findHeader(headers, "content-type"), nullptr);
  EXPECT_EQ(findHeader(headers, "content-length"), nullptr);
}

TEST(SplitHostPort, ParsesForms) {
  std::string host;
  uint16_t port = 0;
  ASSERT_TRUE(splitHostPort("127.0.0.1:9000", &host, &port));
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(port, 9000);
  ASSERT_TRUE(splitHostPort("[::1]:80", &host, &port));
  EXPECT_EQ(host, "::1");
  EXPECT_FALSE(splitHostPort("nohost", &host, &port));
  EXPECT_FALSE(splitHostPort("h:99999", &host, &port));
}

}  // namespace
}  // namespace hearth
