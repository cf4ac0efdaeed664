#include "auth/sigv4.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "common/clock.h"

namespace hearth {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;
using std::chrono::system_clock;

system_clock::time_point at(std::string_view amz_date) {
  auto parsed = sigv4::parseAmzDate(amz_date);
  EXPECT_TRUE(parsed.has_value()) << amz_date;
  return system_clock::time_point(parsed.value_or(std::chrono::sys_seconds{}));
}

std::string headerValue(const SignedRequest& request, std::string_view name) {
  for (const auto& [key, value] : request.headers) {
    if (key == name) {
      return value;
    }
  }
  return "";
}

void setHeader(SignedRequest& request, std::string_view name, std::string value) {
  for (auto& [key, old] : request.headers) {
    if (key == name) {
      old = std::move(value);
      return;
    }
  }
  request.headers.emplace_back(std::string(name), std::move(value));
}

constexpr std::string_view kSignatureMismatch =
    "The request signature we calculated does not match the signature you provided. Check your "
    "AWS Secret Access Key and signing method. Consult the service documentation for details.";

// ---------------------------------------------------------------------------------------------
// The official AWS SigV4 test suite (aws-sig-v4-test-suite), credentials AKIDEXAMPLE.

const Credentials kSuiteKey{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
constexpr std::string_view kEmptySha256 =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

SignedRequest suiteRequest(std::string method, std::string_view signature) {
  SignedRequest request{std::move(method),
                        "/",
                        {{"Host", "example.amazonaws.com"}, {"X-Amz-Date", "20150830T123600Z"}},
                        ""};
  request.headers.emplace_back(
      "Authorization",
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=" +
          std::string(signature));
  return request;
}

TEST(SigV4Suite, GetVanilla) {
  SignedRequest request =
      suiteRequest("GET", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
  auto canonical = sigv4::canonicalRequest(request, "host;x-amz-date", kEmptySha256, false);
  ASSERT_TRUE(canonical.has_value());
  EXPECT_EQ(*canonical,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
            "host;x-amz-date\n"
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  std::string sts = sigv4::stringToSign(
      "20150830T123600Z", sigv4::credentialScope("20150830", "us-east-1", "service"), *canonical);
  EXPECT_EQ(sts,
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n"
            "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63");
  std::string key =
      sigv4::signingKey(kSuiteKey.secret_access_key, "20150830", "us-east-1", "service");
  EXPECT_EQ(sigv4::signature(key, sts),
            "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");

  FakeClock clock(at("20150830T123600Z"));
  SigV4Verifier verifier({kSuiteKey}, "us-east-1", "service", clock);
  EXPECT_TRUE(verifier.verify(request).isOk()) << verifier.verify(request).toString();
}

TEST(SigV4Suite, PostVanilla) {
  SignedRequest request =
      suiteRequest("POST", "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");
  auto canonical = sigv4::canonicalRequest(request, "host;x-amz-date", kEmptySha256, false);
  ASSERT_TRUE(canonical.has_value());
  std::string sts = sigv4::stringToSign(
      "20150830T123600Z", sigv4::credentialScope("20150830", "us-east-1", "service"), *canonical);
  std::string key =
      sigv4::signingKey(kSuiteKey.secret_access_key, "20150830", "us-east-1", "service");
  EXPECT_EQ(sigv4::signature(key, sts),
            "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b");

  FakeClock clock(at("20150830T123600Z"));
  SigV4Verifier verifier({kSuiteKey}, "us-east-1", "service", clock);
  EXPECT_TRUE(verifier.verify(request).isOk()) << verifier.verify(request).toString();

  // The same signature does not verify for a GET.
  request.method = "GET";
  EXPECT_EQ(verifier.verify(request).message(), kSignatureMismatch);
}

// ---------------------------------------------------------------------------------------------
// Canonicalisation building blocks.

TEST(SigV4Canonical, HashesAndMacs) {
  EXPECT_EQ(sigv4::sha256Hex(""), kEmptySha256);
  EXPECT_EQ(sigv4::sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // RFC 4231 test case 2.
  EXPECT_EQ(sigv4::toHex(sigv4::hmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(SigV4Canonical, UriEncoding) {
  EXPECT_EQ(sigv4::uriEncode("AZaz09-_.~", false), "AZaz09-_.~");
  EXPECT_EQ(sigv4::uriEncode("a b/c:d%e+f*!'()$", false),
            "a%20b%2Fc%3Ad%25e%2Bf%2A%21%27%28%29%24");
  EXPECT_EQ(sigv4::uriEncode("a b/c", true), "a%20b/c");
  EXPECT_EQ(sigv4::uriEncode("\xc3\xa9", false), "%C3%A9");
  EXPECT_EQ(sigv4::uriDecode("a%20b%2fc+d%zz%4", true), "a b/c d%zz%4");
  EXPECT_EQ(sigv4::uriDecode("a+b", false), "a+b");
}

TEST(SigV4Canonical, UriIsNormalisedThenEncodedAgain) {
  EXPECT_EQ(sigv4::canonicalUri("/"), "/");
  EXPECT_EQ(sigv4::canonicalUri("/2015-03-31/functions/my-fn/invocations"),
            "/2015-03-31/functions/my-fn/invocations");
  // The wire form is percent-encoded once; the canonical form encodes it again.
  EXPECT_EQ(
      sigv4::canonicalUri("/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Ax"),
      "/2017-03-31/tags/arn%253Aaws%253Alambda%253Aus-east-1%253A1%253Afunction%253Ax");
  EXPECT_EQ(sigv4::canonicalUri("/a%2Fb"), "/a%252Fb");
  EXPECT_EQ(sigv4::canonicalUri("/a:b c"), "/a%3Ab%20c");
  // Empty and "." segments vanish, ".." removes its parent, a trailing slash survives.
  EXPECT_EQ(sigv4::canonicalUri("//a/./b/../c//d/"), "/a/c/d/");
  EXPECT_EQ(sigv4::canonicalUri("/../.."), "/");
  EXPECT_EQ(sigv4::canonicalUri("/a/.."), "/");
}

TEST(SigV4Canonical, QueryIsDecodedReencodedAndSorted) {
  EXPECT_EQ(sigv4::canonicalQuery("", false), "");
  EXPECT_EQ(sigv4::canonicalQuery("b=2&a=1&a=0", false), "a=0&a=1&b=2");
  EXPECT_EQ(sigv4::canonicalQuery("Qualifier=%24LATEST&flag", false), "Qualifier=%24LATEST&flag=");
  EXPECT_EQ(sigv4::canonicalQuery("Marker=a%20b%2Fc&MaxItems=5", false),
            "Marker=a%20b%2Fc&MaxItems=5");
  EXPECT_EQ(sigv4::canonicalQuery("k=a+b&k2=$~&&", false), "k=a%20b&k2=%24~");
  // Upper case sorts before lower case (byte order).
  EXPECT_EQ(sigv4::canonicalQuery("a=1&B=2", false), "B=2&a=1");
  EXPECT_EQ(sigv4::canonicalQuery("X-Amz-Signature=abc&x=1", true), "x=1");
  EXPECT_EQ(sigv4::canonicalQuery("X-Amz-Signature=abc&x=1", false), "X-Amz-Signature=abc&x=1");
}

TEST(SigV4Canonical, HeadersAreTrimmedCollapsedAndJoined) {
  EXPECT_EQ(sigv4::canonicalHeaderValue("  a   b\t\tc \r\n d  "), "a b c d");
  SignedRequest request{"GET",
                        "/p?b=1&a=2",
                        {{"Host", "h"}, {"My-Header", " x  y "}, {"my-header", "z"}, {"X", "1"}},
                        ""};
  auto canonical = sigv4::canonicalRequest(request, "host;my-header", "HASH", false);
  ASSERT_TRUE(canonical.has_value());
  EXPECT_EQ(*canonical, "GET\n/p\na=2&b=1\nhost:h\nmy-header:x y,z\n\nhost;my-header\nHASH");
  EXPECT_FALSE(sigv4::canonicalRequest(request, "host;absent", "HASH", false).has_value());
}

TEST(SigV4Canonical, Dates) {
  EXPECT_EQ(sigv4::formatAmzDate(at("20240506T070809Z")), "20240506T070809Z");
  EXPECT_EQ(sigv4::formatAmzDate(system_clock::time_point(seconds(0))), "19700101T000000Z");
  EXPECT_EQ(sigv4::formatAmzDate(system_clock::time_point(std::chrono::milliseconds(1999))),
            "19700101T000001Z");
  EXPECT_EQ(at("20150830T123600Z").time_since_epoch(), seconds(1440938160));
  EXPECT_FALSE(sigv4::parseAmzDate("2015-08-30T12:36:00Z"));
  EXPECT_FALSE(sigv4::parseAmzDate("20150830T123600"));
  EXPECT_FALSE(sigv4::parseAmzDate("20150231T123600Z"));
  EXPECT_FALSE(sigv4::parseAmzDate("20150830T246000Z"));
  EXPECT_FALSE(sigv4::parseAmzDate("2015083OT123600Z"));
}

// ---------------------------------------------------------------------------------------------
// Golden vectors produced by the real AWS SDK for JavaScript v3 (@smithy/signature-v4 5.7.5,
// @aws-sdk/client-lambda 3.1164.0) and botocore 1.43.11 with a fixed clock, captured as sent.

const Credentials kHearthKey{"AKIAHEARTHTEST000001", "hearth/secret+key/0123456789abcdefghijkl"};
constexpr std::string_view kGoldenDate = "20240506T070809Z";

class SigV4Golden : public ::testing::Test {
 protected:
  FakeClock clock_{at(kGoldenDate)};
  SigV4Verifier verifier_{
      {{"AKIAOTHERKEY00000000", "other"}, kHearthKey}, "us-east-1", "lambda", clock_};
};

TEST_F(SigV4Golden, JsClientInvokeWithArnInPath) {
  SignedRequest request{
      "POST",
      "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/"
      "invocations?Qualifier=1",
      {{"content-type", "application/octet-stream"},
       {"content-length", "17"},
       {"x-amz-user-agent", "aws-sdk-js/3.1163.0"},
       {"user-agent",
        "aws-sdk-js/3.1163.0 ua/2.1 os/linux#6.18.44-fc-v657 lang/js md/nodejs#20.20.2 "
        "api/lambda#3.1163.0 m/N,E,e"},
       {"host", "localhost:9000"},
       {"amz-sdk-invocation-id", "123902ce-92f1-4849-821c-11e7aa4d7fee"},
       {"amz-sdk-request", "attempt=1; max=1"},
       {"x-amz-date", "20240506T070809Z"},
       {"x-amz-content-sha256", "93a23971a914e5eacbf0a8d25154cda309c3c1c72fbb9914d47c60f3cb681588"},
       {"authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAHEARTHTEST000001/20240506/us-east-1/lambda/aws4_request, "
        "SignedHeaders=amz-sdk-invocation-id;amz-sdk-request;content-length;content-type;host;"
        "x-amz-content-sha256;x-amz-date;x-amz-user-agent, "
        "Signature=00343ebc171e9a0e1dfdd5d0daf3f60d7a42ab1ad1d865a5fae7bff4913a77cf"}},
      R"({"hello":"world"})"};
  Status status = verifier_.verify(request);
  EXPECT_TRUE(status.isOk()) << status.toString();

  // Decoding the ARN on the wire would sign a different canonical URI.
  request.target =
      "/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:my-fn/"
      "invocations?Qualifier=1";
  EXPECT_EQ(verifier_.verify(request).message(), kSignatureMismatch);
}

TEST_F(SigV4Golden, JsSignerGetWithArnInPath) {
  SignedRequest request{
      "GET",
      "/2017-03-31/tags/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ax",
      {{"host", "localhost:9000"},
       {"x-amz-date", "20240506T070809Z"},
       {"x-amz-content-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
       {"authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAHEARTHTEST000001/20240506/us-east-1/lambda/aws4_request, "
        "SignedHeaders=host;x-amz-content-sha256;x-amz-date, "
        "Signature=e27d62138cad7bd515de85c3e8668da128077d66e675fb976269d852d5be0a2c"}},
      ""};
  Status status = verifier_.verify(request);
  EXPECT_TRUE(status.isOk()) << status.toString();
}

// The JS signer's output for POST /2015-03-31/functions/my-fn/invocations?Qualifier=1.
constexpr std::string_view kJsPostAuthorization =
    "AWS4-HMAC-SHA256 Credential=AKIAHEARTHTEST000001/20240506/us-east-1/lambda/aws4_request, "
    "SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-invocation-type, "
    "Signature=21b90e3ee62781e79b376e8806f660b61f41c2d32894ebc56df21dbcd38588ca";
constexpr std::string_view kJsPostBody = R"({"hello":"world","n":1})";

SignedRequest jsPostUnsigned() {
  return SignedRequest{"POST",
                       "/2015-03-31/functions/my-fn/invocations?Qualifier=1",
                       {{"host", "localhost:9000"},
                        {"content-type", "application/json"},
                        {"x-amz-invocation-type", "RequestResponse"}},
                       kJsPostBody};
}

TEST_F(SigV4Golden, JsSignerPostWithJsonBody) {
  SignedRequest request = jsPostUnsigned();
  request.headers.emplace_back("x-amz-date", "20240506T070809Z");
  request.headers.emplace_back("x-amz-content-sha256",
                               "32b769982a3a6e2df120530b06dcbaf1e8f75e004ceea92ac3e91bd7a248d728");
  request.headers.emplace_back("authorization", std::string(kJsPostAuthorization));
  Status status = verifier_.verify(request);
  EXPECT_TRUE(status.isOk()) << status.toString();
}

TEST_F(SigV4Golden, OurSignerMatchesJsSignerByteForByte) {
  SignedRequest request = jsPostUnsigned();
  signRequest(request, kHearthKey, "us-east-1", "lambda", at(kGoldenDate));
  EXPECT_EQ(headerValue(request, "x-amz-date"), "20240506T070809Z");
  EXPECT_EQ(headerValue(request, "x-amz-content-sha256"),
            "32b769982a3a6e2df120530b06dcbaf1e8f75e004ceea92ac3e91bd7a248d728");
  EXPECT_EQ(headerValue(request, "authorization"), kJsPostAuthorization);
}

TEST_F(SigV4Golden, JsPresignedUrlWithArnInPath) {
  SignedRequest request{
      "GET",
      "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/"
      "configuration?Qualifier=%24LATEST&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
      "AKIAHEARTHTEST000001%2F20240506%2Fus-east-1%2Flambda%2Faws4_request&X-Amz-Date="
      "20240506T070809Z&X-Amz-Expires=300&X-Amz-Signature="
      "29e787a57399a4b1cda3b46b8d56546e36775989ad3fcbe2201bb3264cc605e6&X-Amz-SignedHeaders=host",
      {{"Host", "localhost:9000"}},
      ""};
  Status status = verifier_.verify(request);
  EXPECT_TRUE(status.isOk()) << status.toString();
  clock_.advance(seconds(301));
  EXPECT_EQ(verifier_.verify(request).message(), "Request has expired");
}

TEST_F(SigV4Golden, BotocoreInvokeWithArnInPath) {
  // botocore signs the Host header that urllib3 adds, and does not send x-amz-content-sha256.
  SignedRequest request{
      "POST",
      "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/"
      "invocations?Qualifier=1",
      {{"Host", "localhost:9000"},
       {"User-Agent",
        "Botocore/1.43.11 ua/2.1 os/linux#6.18.44-fc-v657 md/arch#x86_64 lang/python#3.11.7 "
        "md/pyimpl#CPython m/b,D,Z,e,N cfg/retry-mode#legacy"},
       {"X-Amz-Date", "20240506T070809Z"},
       {"Authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAHEARTHTEST000001/20240506/us-east-1/lambda/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=43c738c6ebdc6e039e2f3b08d705895d55c46e1e94175f5e0c46248930877f7d"},
       {"amz-sdk-invocation-id", "a7911551-027f-4284-a2db-e59f6230684d"},
       {"amz-sdk-request", "attempt=1"},
       {"Content-Length", "17"}},
      R"({"hello":"world"})"};
  Status status = verifier_.verify(request);
  EXPECT_TRUE(status.isOk()) << status.toString();
  request.body = R"({"hello":"World"})";
  EXPECT_EQ(verifier_.verify(request).message(), kSignatureMismatch);
}

TEST_F(SigV4Golden, BotocoreGetWithEncodedQuery) {
  SignedRequest request{
      "GET",
      "/2015-03-31/functions?MaxItems=5&Marker=a%20b%2Fc",
      {{"Host", "localhost:9000"},
       {"X-Amz-Date", "20240506T070809Z"},
       {"Authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAHEARTHTEST000001/20240506/us-east-1/lambda/aws4_request, "
        "SignedHeaders=host;x-amz-date, "
        "Signature=ae9c1dae0a16fd8384b9840fd4a5ed16330f67ba9ec4506e198209427676a78c"}},
      ""};
  Status status = verifier_.verify(request);
  EXPECT_TRUE(status.isOk()) << status.toString();
  // A '+' reads as a space, so it cannot stand in for the signed "%2F".
  request.target = "/2015-03-31/functions?MaxItems=5&Marker=a+b%2Fc";
  EXPECT_TRUE(verifier_.verify(request).isOk());
  request.target = "/2015-03-31/functions?MaxItems=5&Marker=a%2Bb%2Fc";
  EXPECT_EQ(verifier_.verify(request).message(), kSignatureMismatch);
}

TEST_F(SigV4Golden, BotocorePostWithSignedContentType) {
  SignedRequest request{
      "POST",
      "/2015-03-31/functions/my-fn/invocations",
      {{"Host", "localhost:9000"},
       {"Content-Type", "application/json"},
       {"X-Amz-Invocation-Type", "Event"},
       {"X-Amz-Date", "20240506T070809Z"},
       {"Authorization",
        "AWS4-HMAC-SHA256 Credential=AKIAHEARTHTEST000001/20240506/us-east-1/lambda/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date;x-amz-invocation-type, "
        "Signature=42d85ab6a4368d1383c910827fe52507e843058fcf464958b2d68337e9d85fe4"}},
      R"({"a": 1})"};
  Status status = verifier_.verify(request);
  EXPECT_TRUE(status.isOk()) << status.toString();
  setHeader(request, "X-Amz-Invocation-Type", "RequestResponse");
  EXPECT_EQ(verifier_.verify(request).message(), kSignatureMismatch);
}

TEST_F(SigV4Golden, BotocorePresignedUrl) {
  SignedRequest request{
      "GET",
      "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/"
      "configuration?Qualifier=%24LATEST&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
      "AKIAHEARTHTEST000001%2F20240506%2Fus-east-1%2Flambda%2Faws4_request&X-Amz-Date="
      "20240506T070809Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature="
      "2a6ce36d8deb6db6bddc846bdd6d9caadc0940809703699372b7651d6f94920b",
      {{"Host", "localhost:9000"}},
      ""};
  Status status = verifier_.verify(request);
  EXPECT_TRUE(status.isOk()) << status.toString();
}

// ---------------------------------------------------------------------------------------------
// Round trips through our signer, and every way of breaking them.

class SigV4Verify : public ::testing::Test {
 protected:
  SignedRequest signedRequest() {
    SignedRequest request{"POST",
                          "/2015-03-31/functions/my-fn/invocations?Qualifier=1&b=x%20y",
                          {{"Host", "localhost:9000"},
                           {"Content-Type", "application/json"},
                           {"X-Amz-Invocation-Type", "RequestResponse"},
                           {"User-Agent", "hearth-cli"}},
                          body_};
    signRequest(request, kHearthKey, "us-east-1", "lambda", clock_.wallNow());
    return request;
  }

  void expectMismatch(const SignedRequest& request) {
    Status status = verifier_.verify(request);
    EXPECT_EQ(status.code(), StatusCode::kInvalidSignature);
    EXPECT_EQ(status.message(), kSignatureMismatch);
  }

  std::string body_ = R"({"key":"value"})";
  FakeClock clock_{at("20240506T070809Z")};
  SigV4Verifier verifier_{{kHearthKey}, "us-east-1", "lambda", clock_};
};

TEST_F(SigV4Verify, SignedRequestVerifies) {
  SignedRequest request = signedRequest();
  EXPECT_TRUE(headerValue(request, "authorization")
                  .starts_with("AWS4-HMAC-SHA256 Credential=AKIAHEARTHTEST000001/20240506/"
                               "us-east-1/lambda/aws4_request, SignedHeaders=content-type;host;"
                               "x-amz-content-sha256;x-amz-date;x-amz-invocation-type, "
                               "Signature="))
      << headerValue(request, "authorization");
  Status status = verifier_.verify(request);
  EXPECT_TRUE(status.isOk()) << status.toString();

  // Unsigned headers may change or be added; header names are case-insensitive.
  setHeader(request, "User-Agent", "something else");
  request.headers.emplace_back("X-Forwarded-For", "10.0.0.1");
  for (auto& header : request.headers) {
    if (header.first == "Host") {
      header.first = "HOST";
    }
  }
  EXPECT_TRUE(verifier_.verify(request).isOk());
}

TEST_F(SigV4Verify, ResigningReplacesOldAuthHeaders) {
  SignedRequest request = signedRequest();
  clock_.advance(minutes(1));
  signRequest(request, kHearthKey, "us-east-1", "lambda", clock_.wallNow());
  int authorizations = 0;
  for (const auto& header : request.headers) {
    authorizations += header.first == "authorization";
  }
  EXPECT_EQ(authorizations, 1);
  EXPECT_EQ(headerValue(request, "x-amz-date"), "20240506T070909Z");
  EXPECT_TRUE(verifier_.verify(request).isOk());
}

TEST_F(SigV4Verify, ChangedBodyFails) {
  SignedRequest request = signedRequest();
  std::string other = R"({"key":"valuf"})";
  request.body = other;
  Status status = verifier_.verify(request);
  EXPECT_EQ(status.code(), StatusCode::kInvalidSignature);
  EXPECT_EQ(status.message(),
            "The provided 'x-amz-content-sha256' header does not match what was computed.");
  // Replacing the declared hash too breaks the signature.
  setHeader(request, "x-amz-content-sha256", sigv4::sha256Hex(other));
  expectMismatch(request);
}

TEST_F(SigV4Verify, ChangedPathFails) {
  SignedRequest request = signedRequest();
  request.target = "/2015-03-31/functions/my-fm/invocations?Qualifier=1&b=x%20y";
  expectMismatch(request);
}

TEST_F(SigV4Verify, EquivalentPathSpellingsVerify) {
  SignedRequest request = signedRequest();
  request.target = "/2015-03-31//functions/./my-fn/x/../invocations?b=x%20y&Qualifier=1";
  EXPECT_TRUE(verifier_.verify(request).isOk());
}

TEST_F(SigV4Verify, ChangedQueryFails) {
  SignedRequest request = signedRequest();
  request.target = "/2015-03-31/functions/my-fn/invocations?Qualifier=2&b=x%20y";
  expectMismatch(request);
  request.target = "/2015-03-31/functions/my-fn/invocations?Qualifier=1&b=x%20y&c=1";
  expectMismatch(request);
  request.target = "/2015-03-31/functions/my-fn/invocations?Qualifier=1";
  expectMismatch(request);
}

TEST_F(SigV4Verify, ChangedSignedHeaderFails) {
  SignedRequest request = signedRequest();
  setHeader(request, "X-Amz-Invocation-Type", "Event");
  expectMismatch(request);
}

TEST_F(SigV4Verify, RemovedSignedHeaderFails) {
  SignedRequest request = signedRequest();
  std::erase_if(request.headers, [](const auto& h) { return h.first == "Content-Type"; });
  expectMismatch(request);
}

TEST_F(SigV4Verify, RepeatedSignedHeaderFails) {
  SignedRequest request = signedRequest();
  request.headers.emplace_back("x-amz-invocation-type", "Event");
  expectMismatch(request);
}

TEST_F(SigV4Verify, WrongSecretFails) {
  SignedRequest request{"GET", "/2015-03-31/functions", {{"Host", "localhost:9000"}}, ""};
  signRequest(request, Credentials{kHearthKey.access_key_id, "not-the-secret"}, "us-east-1",
              "lambda", clock_.wallNow());
  expectMismatch(request);
}

TEST_F(SigV4Verify, ChangedSignatureFails) {
  SignedRequest request = signedRequest();
  std::string auth = headerValue(request, "authorization");
  auth.back() = auth.back() == '0' ? '1' : '0';
  setHeader(request, "authorization", auth);
  expectMismatch(request);
  auth.pop_back();
  setHeader(request, "authorization", auth);
  expectMismatch(request);
}

TEST_F(SigV4Verify, UnknownAccessKey) {
  SignedRequest request{"GET", "/2015-03-31/functions", {{"Host", "localhost:9000"}}, ""};
  signRequest(request, Credentials{"AKIAUNKNOWN000000000", "x"}, "us-east-1", "lambda",
              clock_.wallNow());
  Status status = verifier_.verify(request);
  EXPECT_EQ(status.code(), StatusCode::kUnrecognizedClient);
  EXPECT_EQ(status.message(), "The security token included in the request is invalid.");
}

TEST_F(SigV4Verify, MissingAuthentication) {
  SignedRequest request{"GET",
                        "/2015-03-31/functions?X-Amz-Algorithm=AWS4-HMAC-SHA256",
                        {{"Host", "localhost:9000"}, {"X-Amz-Date", "20240506T070809Z"}},
                        ""};
  Status status = verifier_.verify(request);
  EXPECT_EQ(status.code(), StatusCode::kMissingAuthentication);
  EXPECT_EQ(status.message(), "Missing Authentication Token");
}

TEST_F(SigV4Verify, ExpiredDate) {
  SignedRequest request = signedRequest();
  clock_.advance(minutes(5));
  EXPECT_TRUE(verifier_.verify(request).isOk());
  clock_.advance(seconds(1));
  Status status = verifier_.verify(request);
  EXPECT_EQ(status.code(), StatusCode::kInvalidSignature);
  EXPECT_EQ(status.message(),
            "Signature expired: 20240506T070809Z is now earlier than 20240506T070810Z "
            "(20240506T071310Z - 5 min.)");
}

TEST_F(SigV4Verify, DateInTheFuture) {
  SignedRequest request{"GET", "/2015-03-31/functions", {{"Host", "localhost:9000"}}, ""};
  signRequest(request, kHearthKey, "us-east-1", "lambda", clock_.wallNow() + minutes(6));
  Status status = verifier_.verify(request);
  EXPECT_EQ(status.code(), StatusCode::kInvalidSignature);
  EXPECT_EQ(status.message(),
            "Signature not yet current: 20240506T071409Z is still later than 20240506T071309Z "
            "(20240506T070809Z + 5 min.)");
}

TEST_F(SigV4Verify, ScopeForAnotherServiceOrRegion) {
  SignedRequest request{"GET", "/2015-03-31/functions", {{"Host", "localhost:9000"}}, ""};
  signRequest(request, kHearthKey, "us-east-1", "s3", clock_.wallNow());
  Status status = verifier_.verify(request);
  EXPECT_EQ(status.code(), StatusCode::kInvalidSignature);
  EXPECT_EQ(status.message(), "Credential should be scoped to correct service: 'lambda'.");

  signRequest(request, kHearthKey, "eu-west-1", "lambda", clock_.wallNow());
  status = verifier_.verify(request);
  EXPECT_EQ(status.code(), StatusCode::kInvalidSignature);
  EXPECT_EQ(status.message(), "Credential should be scoped to a valid region, not 'eu-west-1'.");
}

TEST_F(SigV4Verify, ScopeDateMustMatchAmzDate) {
  SignedRequest request = signedRequest();
  setHeader(request, "x-amz-date", "20240507T000000Z");
  Status status = verifier_.verify(request);
  EXPECT_EQ(status.code(), StatusCode::kInvalidSignature);
  EXPECT_EQ(status.message(),
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
            "HTTP: '20240506' != '20240507', from '20240507T000000Z'.");
  // Same day, other time: the string to sign changes.
  setHeader(request, "x-amz-date", "20240506T070810Z");
  expectMismatch(request);
}

TEST_F(SigV4Verify, MalformedAuthorization) {
  SignedRequest request = signedRequest();
  std::string good = headerValue(request, "authorization");

  setHeader(request, "authorization", "AWS4-HMAC-SHA1" + good.substr(16));
  Status status = verifier_.verify(request);
  EXPECT_EQ(status.code(), StatusCode::kInvalidSignature);
  EXPECT_EQ(status.message(), "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA1'");

  setHeader(request, "authorization", "Bearer abc");
  EXPECT_EQ(verifier_.verify(request).message(), "Unsupported AWS 'algorithm': 'Bearer'");

  setHeader(request, "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAHEARTHTEST000001/20240506/us-east-1/lambda/"
            "aws4_request, SignedHeaders=host");
  status = verifier_.verify(request);
  EXPECT_EQ(status.code(), StatusCode::kInvalidSignature);
  EXPECT_EQ(status.message(),
            "Authorization header requires 'Signature' parameter. Authorization=AWS4-HMAC-SHA256 "
            "Credential=AKIAHEARTHTEST000001/20240506/us-east-1/lambda/aws4_request, "
            "SignedHeaders=host");

  setHeader(request, "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAHEARTHTEST000001/20240506/lambda/aws4_request, "
            "SignedHeaders=host, Signature=00");
  EXPECT_EQ(verifier_.verify(request).message(),
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            "keyid/date/region/service/term, got "
            "'AKIAHEARTHTEST000001/20240506/lambda/aws4_request'");

  setHeader(request, "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAHEARTHTEST000001/20240506/us-east-1/lambda/"
            "aws4_request, SignedHeaders=content-type;x-amz-date, Signature=00");
  EXPECT_EQ(verifier_.verify(request).message(),
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.");

  setHeader(request, "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIAHEARTHTEST000001/20240506/us-east-1/lambda/aws4_req, "
            "SignedHeaders=host, Signature=00");
  EXPECT_EQ(verifier_.verify(request).message(),
            "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws4_req'.");

  setHeader(request, "authorization", good);
  setHeader(request, "x-amz-date", "2024-05-06T07:08:09Z");
  EXPECT_EQ(verifier_.verify(request).message(),
            "Date must be in ISO-8601 'basic format'. Got '2024-05-06T07:08:09Z'. See "
            "http://en.wikipedia.org/wiki/ISO_8601");

  std::erase_if(request.headers, [](const auto& h) { return h.first == "x-amz-date"; });
  EXPECT_EQ(verifier_.verify(request).message(),
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. "
            "Authorization=" +
                good);
}

TEST_F(SigV4Verify, UnsignedPayloadSkipsBodyCheck) {
  SignedRequest request{"POST",
                        "/2015-03-31/functions/my-fn/invocations",
                        {{"Host", "localhost:9000"}, {"X-Amz-Content-SHA256", "UNSIGNED-PAYLOAD"}},
                        body_};
  signRequest(request, kHearthKey, "us-east-1", "lambda", clock_.wallNow());
  EXPECT_EQ(headerValue(request, "X-Amz-Content-SHA256"), "UNSIGNED-PAYLOAD");
  EXPECT_TRUE(verifier_.verify(request).isOk());
  request.body = "anything";
  EXPECT_TRUE(verifier_.verify(request).isOk());
  // Claiming a hash instead of UNSIGNED-PAYLOAD changes the canonical request.
  setHeader(request, "X-Amz-Content-SHA256", sigv4::sha256Hex("anything"));
  expectMismatch(request);
  setHeader(request, "X-Amz-Content-SHA256", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
  EXPECT_EQ(verifier_.verify(request).message(),
            "x-amz-content-sha256 must be UNSIGNED-PAYLOAD or a valid sha256 value.");
}

TEST_F(SigV4Verify, BodyHashedWhenNoContentShaHeader) {
  // Signed by hand, as botocore does: no x-amz-content-sha256 header, body hashed.
  SignedRequest bare{"POST", "/p", {{"Host", "h"}, {"X-Amz-Date", "20240506T070809Z"}}, body_};
  auto canonical = sigv4::canonicalRequest(bare, "host;x-amz-date", sigv4::sha256Hex(body_), false);
  ASSERT_TRUE(canonical.has_value());
  std::string sig = sigv4::signature(
      sigv4::signingKey(kHearthKey.secret_access_key, "20240506", "us-east-1", "lambda"),
      sigv4::stringToSign("20240506T070809Z",
                          sigv4::credentialScope("20240506", "us-east-1", "lambda"), *canonical));
  bare.headers.emplace_back(
      "Authorization",
      "AWS4-HMAC-SHA256 Credential=AKIAHEARTHTEST000001/20240506/us-east-1/lambda/aws4_request, "
      "SignedHeaders=host;x-amz-date, Signature=" +
          sig);
  EXPECT_TRUE(verifier_.verify(bare).isOk());
  bare.body = "tampered";
  expectMismatch(bare);
}

TEST_F(SigV4Verify, BothMechanismsRejected) {
  SignedRequest request = signedRequest();
  request.target += "&X-Amz-Signature=abc";
  Status status = verifier_.verify(request);
  EXPECT_EQ(status.code(), StatusCode::kInvalidSignature);
  EXPECT_EQ(status.message(),
            "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature "
            "query string parameter or the Authorization header should be specified");
}

// ---------------------------------------------------------------------------------------------
// Presigned URLs.

class SigV4Presign : public SigV4Verify {
 protected:
  SignedRequest presigned(seconds expires = seconds(300)) {
    SignedRequest request{"GET",
                          "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af"
                          "?Qualifier=%24LATEST",
                          {{"Host", "localhost:9000"}},
                          ""};
    auto target =
        presignTarget(request, kHearthKey, "us-east-1", "lambda", clock_.wallNow(), expires);
    EXPECT_TRUE(target.isOk()) << target.status().toString();
    request.target = target.isOk() ? *target : "";
    return request;
  }
};

TEST_F(SigV4Presign, MatchesJsPresigner) {
  // Same inputs as the JS golden vector; parameter order differs, the signature may not.
  SignedRequest request{"GET",
                        "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3A"
                        "function%3Amy-fn/configuration?Qualifier=%24LATEST",
                        {{"host", "localhost:9000"}},
                        ""};
  auto target =
      presignTarget(request, kHearthKey, "us-east-1", "lambda", at(kGoldenDate), seconds(300));
  ASSERT_TRUE(target.isOk());
  EXPECT_EQ(
      *target,
      "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/"
      "configuration?Qualifier=%24LATEST&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential="
      "AKIAHEARTHTEST000001%2F20240506%2Fus-east-1%2Flambda%2Faws4_request&X-Amz-Date="
      "20240506T070809Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature="
      "29e787a57399a4b1cda3b46b8d56546e36775989ad3fcbe2201bb3264cc605e6");
}

TEST_F(SigV4Presign, GoodUrlVerifiesUntilExpiry) {
  SignedRequest request = presigned();
  Status status = verifier_.verify(request);
  EXPECT_TRUE(status.isOk()) << status.toString();
  clock_.advance(seconds(300));
  EXPECT_TRUE(verifier_.verify(request).isOk());
  clock_.advance(seconds(1));
  status = verifier_.verify(request);
  EXPECT_EQ(status.code(), StatusCode::kInvalidSignature);
  EXPECT_EQ(status.message(), "Request has expired");
}

TEST_F(SigV4Presign, TamperedUrlFails) {
  SignedRequest good = presigned();

  SignedRequest request = good;
  request.target.replace(request.target.find("function%3Af"), 12, "function%3Ag");
  expectMismatch(request);

  request = good;
  request.target.replace(request.target.find("%24LATEST"), 9, "1");
  expectMismatch(request);

  request = good;
  request.target.replace(request.target.find("X-Amz-Expires=300"), 17, "X-Amz-Expires=900");
  expectMismatch(request);

  request = good;
  request.target += "&extra=1";
  expectMismatch(request);

  request = good;
  setHeader(request, "Host", "evil:9000");
  expectMismatch(request);

  request = good;
  request.method = "DELETE";
  expectMismatch(request);
}

TEST_F(SigV4Presign, MalformedQueryAuth) {
  SignedRequest request = presigned();
  std::string target = request.target;
  request.target.replace(request.target.find("X-Amz-SignedHeaders"), 19, "X-Amz-SignedHeaderz");
  EXPECT_EQ(verifier_.verify(request).message(),
            "AWS query-string parameters must include 'X-Amz-Algorithm', 'X-Amz-Credential', "
            "'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', and 'X-Amz-Expires'. "
            "Re-examine the query-string parameters.");

  request.target = target;
  request.target.replace(request.target.find("HMAC-SHA256"), 11, "HMAC-SHA512");
  EXPECT_EQ(verifier_.verify(request).message(),
            "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");

  request.target = target;
  request.target.replace(request.target.find("X-Amz-Expires=300"), 17, "X-Amz-Expires=604801");
  EXPECT_EQ(verifier_.verify(request).message(),
            "X-Amz-Expires must be less than a week (in seconds) that is 604800");

  request.target = target;
  request.target.replace(request.target.find("AKIAHEARTHTEST000001"), 20, "AKIAUNKNOWN000000000");
  EXPECT_EQ(verifier_.verify(request).code(), StatusCode::kUnrecognizedClient);
}

TEST_F(SigV4Presign, ExpiryBounds) {
  SignedRequest request{"GET", "/?", {{"Host", "h"}}, ""};
  auto target =
      presignTarget(request, kHearthKey, "us-east-1", "lambda", clock_.wallNow(), seconds(60));
  ASSERT_TRUE(target.isOk());
  EXPECT_TRUE(target->starts_with("/?X-Amz-Algorithm=AWS4-HMAC-SHA256&")) << *target;
  request.target = *target;
  EXPECT_TRUE(verifier_.verify(request).isOk());
  EXPECT_EQ(presignTarget(request, kHearthKey, "us-east-1", "lambda", clock_.wallNow(), seconds(0))
                .status()
                .code(),
            StatusCode::kInvalidParameter);
  EXPECT_FALSE(presignTarget(request, kHearthKey, "us-east-1", "lambda", clock_.wallNow(),
                             kMaxPresignExpiry + seconds(1))
                   .isOk());
  EXPECT_TRUE(
      presignTarget(request, kHearthKey, "us-east-1", "lambda", clock_.wallNow(), kMaxPresignExpiry)
          .isOk());
}

}  // namespace
}  // namespace hearth
