#include "common/status.h"

namespace hearth {

std::string_view statusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return "OK";
    case StatusCode::kInvalidParameter:
      return "InvalidParameter";
    case StatusCode::kInvalidRequestContent:
      return "InvalidRequestContent";
    case StatusCode::kValidation:
      return "Validation";
    case StatusCode::kNotFound:
      return "NotFound";
    case StatusCode::kNoPublishedVersion:
      return "NoPublishedVersion";
    case StatusCode::kAlreadyExists:
      return "AlreadyExists";
    case StatusCode::kConflict:
      return "Conflict";
    case StatusCode::kPreconditionFailed:
      return "PreconditionFailed";
    case StatusCode::kPayloadTooLarge:
      return "PayloadTooLarge";
    case StatusCode::kHeadersTooLarge:
      return "HeadersTooLarge";
    case StatusCode::kRequestTimeout:
      return "RequestTimeout";
    case StatusCode::kResponseTooLarge:
      return "ResponseTooLarge";
    case StatusCode::kUnsupportedMediaType:
      return "UnsupportedMediaType";
    case StatusCode::kInvalidZipFile:
      return "InvalidZipFile";
    case StatusCode::kCodeStorageExceeded:
      return "CodeStorageExceeded";
    case StatusCode::kThrottled:
      return "Throttled";
    case StatusCode::kLimitExceeded:
      return "LimitExceeded";
    case StatusCode::kMissingAuthentication:
      return "MissingAuthentication";
    case StatusCode::kUnrecognizedClient:
      return "UnrecognizedClient";
    case StatusCode::kInvalidSignature:
      return "InvalidSignature";
    case StatusCode::kUnknownOperation:
      return "UnknownOperation";
    case StatusCode::kNotImplemented:
      return "NotImplemented";
    case StatusCode::kUnavailable:
      return "Unavailable";
    case StatusCode::kDeadlineExceeded:
      return "DeadlineExceeded";
    case StatusCode::kInternal:
      return "Internal";
  }
  return "Unknown";
}

std::string Status::toString() const {
  if (isOk()) {
    return "OK";
  }
  std::string out(statusCodeName(code_));
  out += ": ";
  out += message_;
  return out;
}

}  // namespace hearth
