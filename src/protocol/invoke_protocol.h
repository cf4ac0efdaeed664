#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"
#include "net/http.h"

namespace hearth::protocol {

// One invocation between a router and an agent: POST /agent/v1/environments/{id}/invoke. The
// body is the payload; everything else travels in X-Hearth-* headers, written and read only here.

// How an invocation ended. Shared by the execution environment, the agent, the router and the
// API: there is no parallel set of strings.
enum class InvokeOutcome {
  kSuccess,        // the runtime posted /response
  kFunctionError,  // the runtime posted /error
  kTimeout,        // the deadline passed first
  kRuntimeExit,    // the runtime process exited with the invocation in flight
  kRefused,        // not accepted: the environment is full, starting, draining or gone
};
std::string_view outcomeName(InvokeOutcome outcome);
std::optional<InvokeOutcome> outcomeFromName(std::string_view name);

struct InvokeHeaders {
  std::string request_id;
  int64_t deadline_epoch_ms = 0;     // absolute
  std::string invoked_function_arn;  // as the caller named it
  std::string client_context;        // base64, as received
  std::string tenant_id;
  std::string content_type = "application/json";
  bool tail_logs = false;

  bool operator==(const InvokeHeaders&) const = default;
};
void encodeInvoke(const InvokeHeaders& invoke, HeaderList& headers);
// kInvalidParameter for a bad deadline.
Result<InvokeHeaders> decodeInvoke(const HeaderList& headers);

// The agent's answer. An HTTP 429 carries a refusal; a 200 carries an outcome.
struct InvokeAnswer {
  InvokeOutcome outcome = InvokeOutcome::kSuccess;
  std::string error_type;  // for errors, e.g. "Runtime.ExitError"
  std::string log_result;  // base64 of the last 4 KB of log lines, when Tail was asked for
  std::string refusal;     // for kRefused: "concurrency", "starting", "stopped", "gone", ...
  std::string content_type;

  bool operator==(const InvokeAnswer&) const = default;
};
// The status, headers and body of the agent's response (`body` is moved in).
HttpResponse encodeAnswer(const InvokeAnswer& answer, std::string body);
// kInvalidParameter for a 200 without a known outcome.
Result<InvokeAnswer> decodeAnswer(const HttpResponse& response);

}  // namespace hearth::protocol
