#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

namespace hearth {

// Canonical error codes. Each code has one meaning for retries and maps onto exactly one AWS error
// shape in toAwsError() (src/api/aws_error.cc). Pick the code by what the caller should do next.
enum class StatusCode : uint8_t {
  kOk = 0,
  kInvalidParameter,       // A member has a bad value. Do not retry.
  kInvalidRequestContent,  // The body is not valid JSON or has the wrong shape. Do not retry.
  kValidation,             // A member violates a model constraint (range, length, pattern, enum).
  kNotFound,               // The named resource does not exist.
  kNoPublishedVersion,     // An unqualified invoke of a function with no $LATEST.PUBLISHED.
  kAlreadyExists,          // Create of a resource that exists.
  kConflict,               // The resource is in a state that forbids this operation now.
  kPreconditionFailed,     // RevisionId (optimistic concurrency) did not match.
  kPayloadTooLarge,        // The request body exceeds a documented limit.
  kHeadersTooLarge,        // The request header exceeds the transport's limit.
  kRequestTimeout,         // The request did not arrive in time; retry.
  kResponseTooLarge,       // A function response exceeds a documented limit.
  kUnsupportedMediaType,   // The Content-Type cannot be handled.
  kInvalidZipFile,         // The deployment package is not a usable zip.
  kCodeStorageExceeded,    // Too much code stored.
  kThrottled,              // Capacity is saturated; retry after a delay.
  kLimitExceeded,          // A configured quota (count of resources) is exhausted.
  kMissingAuthentication,  // No credentials were supplied.
  kUnrecognizedClient,     // The access key is unknown.
  kInvalidSignature,       // The SigV4 signature does not verify.
  kUnknownOperation,       // No operation matches the method and path.
  kNotImplemented,         // The operation exists in AWS but Hearth does not implement it yet.
  kUnavailable,            // A dependency is temporarily unavailable; retry.
  kDeadlineExceeded,       // A deadline passed before the work finished.
  kInternal,               // A bug or an unexpected failure.
};

std::string_view statusCodeName(StatusCode code);

// An error as a value. Cheap to copy when ok. Optional detail carries data that some wire shapes
// need (the throttle Reason and Retry-After seconds).
class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }

  bool isOk() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return isOk(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }

  // Only meaningful for kThrottled.
  const std::string& reason() const { return reason_; }
  int retryAfterSeconds() const { return retry_after_seconds_; }
  Status& withReason(std::string reason, int retry_after_seconds) {
    reason_ = std::move(reason);
    retry_after_seconds_ = retry_after_seconds;
    return *this;
  }

  std::string toString() const;

  // Marks an error as deliberately ignored; greppable.
  void permitUnchecked() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string reason_;
  int retry_after_seconds_ = 0;
};

inline Status invalidParameter(std::string message) {
  return Status(StatusCode::kInvalidParameter, std::move(message));
}
inline Status notFound(std::string message) {
  return Status(StatusCode::kNotFound, std::move(message));
}
inline Status conflict(std::string message) {
  return Status(StatusCode::kConflict, std::move(message));
}
inline Status internalError(std::string message) {
  return Status(StatusCode::kInternal, std::move(message));
}

}  // namespace hearth

// Returns early from the enclosing function when `expr` yields a non-ok Status.
#define HEARTH_RETURN_IF_ERROR(expr)          \
  do {                                        \
    ::hearth::Status hearth_status_ = (expr); \
    if (!hearth_status_.isOk()) {             \
      return hearth_status_;                  \
    }                                         \
  } while (false)
