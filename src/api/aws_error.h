#pragma once

#include <string>

#include "common/status.h"
#include "net/http.h"

namespace hearth {

// The wire form of an error: HTTP status, X-Amzn-ErrorType, and the JSON body member casing.
struct AwsError {
  int http_status = 500;
  std::string type;              // e.g. "ResourceNotFoundException"
  bool capital_message = false;  // body uses "Message" instead of "message"
};

// The one mapping from StatusCode to AWS error shapes. Golden-tested in aws_error_test.cc.
AwsError toAwsError(StatusCode code);

// Renders `status` (REQUIRES: not ok) as an AWS error response with request id `request_id`.
HttpResponse renderAwsError(const Status& status, const std::string& request_id);

}  // namespace hearth
