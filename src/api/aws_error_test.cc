#include "api/aws_error.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace hearth {
namespace {

// Golden table: each internal code's wire form. Changing a row changes what clients see.
TEST(AwsError, MapsEveryCodeToItsWireShape) {
  struct Row {
    StatusCode code;
    int status;
    const char* type;
  };
  const Row rows[] = {
      {StatusCode::kInvalidParameter, 400, "InvalidParameterValueException"},
      {StatusCode::kInvalidRequestContent, 400, "InvalidRequestContentException"},
      {StatusCode::kValidation, 400, "InvalidParameterValueException"},
      {StatusCode::kNotFound, 404, "ResourceNotFoundException"},
      {StatusCode::kNoPublishedVersion, 400, "NoPublishedVersionException"},
      {StatusCode::kConflict, 409, "ResourceConflictException"},
      {StatusCode::kPreconditionFailed, 412, "PreconditionFailedException"},
      {StatusCode::kPayloadTooLarge, 413, "RequestTooLargeException"},
      {StatusCode::kHeadersTooLarge, 431, "InvalidRequestContentException"},
      {StatusCode::kRequestTimeout, 408, "RequestTimeoutException"},
      {StatusCode::kNotImplemented, 501, "NotImplementedException"},
      {StatusCode::kUnavailable, 503, "ServiceException"},
      {StatusCode::kUnsupportedMediaType, 415, "UnsupportedMediaTypeException"},
      {StatusCode::kThrottled, 429, "TooManyRequestsException"},
      {StatusCode::kMissingAuthentication, 403, "MissingAuthenticationTokenException"},
      {StatusCode::kUnrecognizedClient, 403, "UnrecognizedClientException"},
      {StatusCode::kInvalidSignature, 403, "InvalidSignatureException"},
      {StatusCode::kUnknownOperation, 404, "UnknownOperationException"},
      {StatusCode::kInternal, 500, "ServiceException"},
  };
  for (const auto& row : rows) {
    AwsError error = toAwsError(row.code);
    EXPECT_EQ(error.http_status, row.status) << row.type;
    EXPECT_EQ(error.type, row.type);
  }
}

TEST(AwsError, RendersHeaderAndBodyWithShapeCasing) {
  HttpResponse not_found = renderAwsError(notFound("Function not found: x"), "req-1");
  EXPECT_EQ(not_found.status, 404);
  EXPECT_EQ(*not_found.header("X-Amzn-ErrorType"), "ResourceNotFoundException");
  EXPECT_EQ(*not_found.header("x-amzn-RequestId"), "req-1");
  auto body = boost::json::parse(not_found.body).as_object();
  EXPECT_EQ(body.at("Type").as_string(), "User");
  EXPECT_EQ(body.at("Message").as_string(), "Function not found: x");

  HttpResponse conflict_response = renderAwsError(conflict("busy"), "req-2");
  EXPECT_TRUE(boost::json::parse(conflict_response.body).as_object().contains("message"));
}

TEST(AwsError, ThrottleCarriesReasonAndRetryAfter) {
  Status throttled(StatusCode::kThrottled, "Rate exceeded");
  throttled.withReason("ConcurrentInvocationLimitExceeded", 1);
  HttpResponse response = renderAwsError(throttled, "req");
  EXPECT_EQ(response.status, 429);
  EXPECT_EQ(*response.header("Retry-After"), "1");
  auto body = boost::json::parse(response.body).as_object();
  EXPECT_EQ(body.at("Reason").as_string(), "ConcurrentInvocationLimitExceeded");
}

TEST(AwsError, BodiesAreValidUtf8WhateverTheMessageQuotes) {
  HttpResponse response =
      renderAwsError(Status(StatusCode::kNotFound, "Function not found: \xC0\xAF"), "req");
  boost::json::value body;
  ASSERT_NO_THROW(body = boost::json::parse(response.body)) << response.body;
  EXPECT_EQ(body.at("Message").as_string(), "Function not found: \xEF\xBF\xBD\xEF\xBF\xBD");
}

}  // namespace
}  // namespace hearth
