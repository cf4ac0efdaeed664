#include "controlplane/names.h"

#include <gtest/gtest.h>

namespace hearth {
namespace {

TEST(ParseFunctionRef, AcceptsNamesPartialAndFullArns) {
  AccountContext account;
  auto plain = parseFunctionRef("my-fn", account);
  ASSERT_TRUE(plain.isOk());
  EXPECT_EQ(plain->name, "my-fn");
  EXPECT_FALSE(plain->qualifier);

  auto qualified = parseFunctionRef("my-fn:prod", account);
  ASSERT_TRUE(qualified.isOk());
  EXPECT_EQ(*qualified->qualifier, "prod");

  auto partial = parseFunctionRef("123456789012:function:my-fn:7", account);
  ASSERT_TRUE(partial.isOk());
  EXPECT_EQ(partial->name, "my-fn");
  EXPECT_EQ(*partial->qualifier, "7");

  auto full =
      parseFunctionRef("arn:aws:lambda:us-east-1:123456789012:function:my-fn:$LATEST", account);
  ASSERT_TRUE(full.isOk());
  EXPECT_EQ(full->name, "my-fn");
  EXPECT_EQ(*full->qualifier, "$LATEST");
}

TEST(ParseFunctionRef, RejectsBadNamesAndForeignArns) {
  AccountContext account;
  EXPECT_EQ(parseFunctionRef("bad name", account).status().code(), StatusCode::kValidation);
  EXPECT_EQ(parseFunctionRef("", account).status().code(), StatusCode::kValidation);
  EXPECT_EQ(parseFunctionRef(std::string(65, 'a'), account).status().code(),
            StatusCode::kValidation);
  EXPECT_EQ(
      parseFunctionRef("arn:aws:lambda:eu-west-1:123456789012:function:f", account).status().code(),
      StatusCode::kNotFound);
}

TEST(Names, ValidatesAliasesRolesAndVersions) {
  EXPECT_TRUE(isValidAliasName("prod"));
  EXPECT_FALSE(isValidAliasName("123"));
  EXPECT_TRUE(isValidRoleArn("arn:aws:iam::123456789012:role/lambda-role"));
  EXPECT_TRUE(isValidRoleArn("arn:aws:iam::123456789012:role/path/to/role"));
  EXPECT_FALSE(isValidRoleArn("arn:aws:iam::12345:role/x"));
  EXPECT_FALSE(isValidRoleArn("not-an-arn"));
  EXPECT_TRUE(isNumericVersion("42"));
  EXPECT_FALSE(isNumericVersion("$LATEST"));
}

TEST(ParseResourceArn, DistinguishesFunctionsAndCapacityProviders) {
  AccountContext account;
  auto fn = parseResourceArn(account.functionArn("f"), account);
  ASSERT_TRUE(fn.isOk());
  EXPECT_EQ(fn->kind, ArnKind::kFunction);
  auto cp = parseResourceArn(account.capacityProviderArn("pool"), account);
  ASSERT_TRUE(cp.isOk());
  EXPECT_EQ(cp->kind, ArnKind::kCapacityProvider);
  EXPECT_EQ(cp->name, "pool");
  EXPECT_FALSE(parseResourceArn("arn:aws:s3:::bucket", account).isOk());
}

}  // namespace
}  // namespace hearth
