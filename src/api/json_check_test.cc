#include "api/json_check.h"

#include <gtest/gtest.h>

#include <string>

namespace hearth {
namespace {

TEST(CheckInvokePayload, AcceptsEveryKindOfJsonValue) {
  for (const char* ok : {"{}", "[]", "null", "true", "1", "-2.5e3", "\"text\"",
                         R"({"a":[1,{"b":null}],"c":"\u00e9"})", "  {\"x\":1}\n"}) {
    EXPECT_TRUE(checkInvokePayload(ok).isOk()) << ok;
  }
}

TEST(CheckInvokePayload, RefusesWhatIsNotJsonWithAwsWording) {
  for (const char* bad : {"hello", "{", "{\"a\":}", "[1,]", "{} {}", "'test'", "\xC0\xAF"}) {
    Status status = checkInvokePayload(bad);
    ASSERT_FALSE(status.isOk()) << bad;
    EXPECT_EQ(status.code(), StatusCode::kInvalidRequestContent);
    EXPECT_EQ(status.message().rfind("Could not parse request body into json: Could not parse "
                                     "payload into json: ",
                                     0),
              0u)
        << status.message();
  }
}

TEST(CheckInvokePayload, NamesTheLineAndColumn) {
  Status status = checkInvokePayload("{\n  \"a\": x}");
  ASSERT_FALSE(status.isOk());
  EXPECT_NE(status.message().find("line: 2, column: 8"), std::string::npos) << status.message();
}

TEST(CheckInvokePayload, BoundsNesting) {
  EXPECT_FALSE(checkInvokePayload(std::string(5000, '[') + std::string(5000, ']')).isOk());
}

}  // namespace
}  // namespace hearth
