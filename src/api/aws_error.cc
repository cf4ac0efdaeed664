#include "api/aws_error.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "common/utf8.h"

namespace hearth {

AwsError toAwsError(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return {200, "", false};
    case StatusCode::kInvalidParameter:
      return {400, "InvalidParameterValueException", false};
    case StatusCode::kInvalidRequestContent:
      return {400, "InvalidRequestContentException", false};
    case StatusCode::kValidation:
      // AWS itself answers model-constraint violations with the unmodelled ValidationException;
      // the SDK models only InvalidParameterValueException for these operations, and the SDK
      // wins.
      return {400, "InvalidParameterValueException", false};
    case StatusCode::kNotFound:
      return {404, "ResourceNotFoundException", true};
    case StatusCode::kNoPublishedVersion:
      return {400, "NoPublishedVersionException", true};
    case StatusCode::kAlreadyExists:
    case StatusCode::kConflict:
      return {409, "ResourceConflictException", false};
    case StatusCode::kPreconditionFailed:
      return {412, "PreconditionFailedException", false};
    case StatusCode::kPayloadTooLarge:
      return {413, "RequestTooLargeException", false};
    case StatusCode::kHeadersTooLarge:
      // Not an AWS Lambda error; the modelled type closest to a header the edge refused.
      return {431, "InvalidRequestContentException", false};
    case StatusCode::kRequestTimeout:
      // The type AWS SDKs treat as transient and retry.
      return {408, "RequestTimeoutException", false};
    case StatusCode::kResponseTooLarge:
      return {502, "ResponseSizeTooLargeException", false};
    case StatusCode::kUnsupportedMediaType:
      return {415, "UnsupportedMediaTypeException", false};
    case StatusCode::kInvalidZipFile:
      return {502, "InvalidZipFileException", false};
    case StatusCode::kCodeStorageExceeded:
      return {400, "CodeStorageExceededException", false};
    case StatusCode::kThrottled:
      return {429, "TooManyRequestsException", false};
    case StatusCode::kLimitExceeded:
      return {400, "CapacityProviderLimitExceededException", false};
    case StatusCode::kMissingAuthentication:
      return {403, "MissingAuthenticationTokenException", false};
    case StatusCode::kUnrecognizedClient:
      return {403, "UnrecognizedClientException", false};
    case StatusCode::kInvalidSignature:
      return {403, "InvalidSignatureException", false};
    case StatusCode::kUnknownOperation:
      return {404, "UnknownOperationException", false};
    case StatusCode::kNotImplemented:
      return {501, "NotImplementedException", false};
    case StatusCode::kUnavailable:
      return {503, "ServiceException", false};
    case StatusCode::kDeadlineExceeded:
      return {504, "ServiceException", false};
    case StatusCode::kInternal:
      return {500, "ServiceException", false};
  }
  return {500, "ServiceException", false};
}

HttpResponse renderAwsError(const Status& status, const std::string& request_id) {
  AwsError error = toAwsError(status.code());
  boost::json::object body;
  body["Type"] = error.http_status >= 500 ? "Service" : "User";
  // Messages may quote the request (names, markers, qualifiers): they are made valid UTF-8 here,
  // once, so every error body is a valid JSON document.
  body[error.capital_message ? "Message" : "message"] = toValidUtf8(status.message());
  HttpResponse response;
  response.status = error.http_status;
  if (status.code() == StatusCode::kThrottled) {
    if (!status.reason().empty()) {
      body["Reason"] = toValidUtf8(status.reason());
    }
    if (status.retryAfterSeconds() > 0) {
      body["retryAfterSeconds"] = std::to_string(status.retryAfterSeconds());
      response.set("Retry-After", std::to_string(status.retryAfterSeconds()));
    }
  }
  response.set("Content-Type", "application/json");
  response.set("X-Amzn-ErrorType", error.type);
  response.set("x-amzn-RequestId", request_id);
  response.body = boost::json::serialize(body);
  return response;
}

}  // namespace hearth
