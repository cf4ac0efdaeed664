#include "controlplane/json_fields.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace hearth {
namespace {

Result<std::optional<int64_t>> read(std::string_view number, int64_t min = 1, int64_t max = 900) {
  auto body = boost::json::parse(std::string(R"({"Timeout":)") + std::string(number) + "}");
  return readIntInRange(body.as_object(), "Timeout", "timeout", min, max);
}

TEST(ReadIntInRange, AcceptsIntegersInRangeWhateverTheirSpelling) {
  EXPECT_EQ(*read("1").value(), 1);
  EXPECT_EQ(*read("900").value(), 900);
  EXPECT_EQ(*read("30.0").value(), 30);
  EXPECT_EQ(*read("3e2").value(), 300);
  auto absent = readIntInRange(boost::json::object{}, "Timeout", "timeout", 1, 900);
  ASSERT_TRUE(absent.isOk());
  EXPECT_FALSE(absent->has_value());
}

// Numbers at and beyond the edges of every integer type are range errors, never a throw or a
// wrap-around.
TEST(ReadIntInRange, NumbersAtTheEdgesOfEveryIntegerTypeAreRangeErrors) {
  for (std::string_view number :
       {"0", "901", "-1", "2147483647", "2147483648", "-2147483649", "4294967296",
        "9223372036854775807", "9223372036854775808", "-9223372036854775808",
        "-9223372036854775809", "18446744073709551615", "18446744073709551616", "1e300", "-1e300",
        "1e400"}) {
    auto result = read(number);
    ASSERT_FALSE(result.isOk()) << number;
    EXPECT_EQ(result.status().code(), StatusCode::kValidation) << number;
    EXPECT_NE(result.status().message().find("timeout"), std::string::npos) << number;
  }
}

TEST(ReadIntInRange, TheFullInt64RangeIsUsable) {
  EXPECT_EQ(*read("9223372036854775807", INT64_MIN, INT64_MAX).value(), INT64_MAX);
  EXPECT_EQ(*read("-9223372036854775808", INT64_MIN, INT64_MAX).value(), INT64_MIN);
  EXPECT_FALSE(read("9223372036854775808", INT64_MIN, INT64_MAX).isOk());
  EXPECT_FALSE(read("9223372036854775808.0", INT64_MIN, INT64_MAX).isOk());
  EXPECT_FALSE(read("9.3e18", INT64_MIN, INT64_MAX).isOk());
  EXPECT_EQ(*read("-9223372036854775808.0", INT64_MIN, INT64_MAX).value(), INT64_MIN);
}

TEST(ReadIntInRange, NonIntegersAreTypeErrors) {
  for (std::string_view value : {"1.5", "\"30\"", "true", "null", "[1]", "{}"}) {
    auto result = read(value);
    if (value == "null") {
      ASSERT_TRUE(result.isOk());  // an explicit null is an absent member
      continue;
    }
    ASSERT_FALSE(result.isOk()) << value;
    EXPECT_NE(result.status().code(), StatusCode::kInternal) << value;
  }
}

}  // namespace
}  // namespace hearth
