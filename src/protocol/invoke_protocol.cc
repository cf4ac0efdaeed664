#include "protocol/invoke_protocol.h"

#include <charconv>

namespace hearth::protocol {

namespace {
constexpr std::string_view kRequestId = "X-Hearth-Request-Id";
constexpr std::string_view kDeadline = "X-Hearth-Deadline-Ms";
constexpr std::string_view kFunctionArn = "X-Hearth-Function-Arn";
constexpr std::string_view kClientContext = "X-Hearth-Client-Context";
constexpr std::string_view kTenantId = "X-Hearth-Tenant-Id";
constexpr std::string_view kLogType = "X-Hearth-Log-Type";
constexpr std::string_view kOutcome = "X-Hearth-Outcome";
constexpr std::string_view kErrorType = "X-Hearth-Error-Type";
constexpr std::string_view kLogResult = "X-Hearth-Log-Result";
constexpr std::string_view kRefused = "X-Hearth-Refused";

std::string valueOf(const HeaderList& headers, std::string_view name) {
  const std::string* v = findHeader(headers, name);
  return v != nullptr ? *v : std::string();
}
}  // namespace

std::string_view outcomeName(InvokeOutcome outcome) {
  switch (outcome) {
    case InvokeOutcome::kSuccess:
      return "success";
    case InvokeOutcome::kFunctionError:
      return "function-error";
    case InvokeOutcome::kTimeout:
      return "timeout";
    case InvokeOutcome::kRuntimeExit:
      return "exit";
    case InvokeOutcome::kRefused:
      return "refused";
  }
  return "refused";
}

std::optional<InvokeOutcome> outcomeFromName(std::string_view name) {
  for (auto outcome :
       {InvokeOutcome::kSuccess, InvokeOutcome::kFunctionError, InvokeOutcome::kTimeout,
        InvokeOutcome::kRuntimeExit, InvokeOutcome::kRefused}) {
    if (outcomeName(outcome) == name) {
      return outcome;
    }
  }
  return std::nullopt;
}

void encodeInvoke(const InvokeHeaders& invoke, HeaderList& headers) {
  headers.emplace_back(std::string(kRequestId), invoke.request_id);
  headers.emplace_back(std::string(kDeadline), std::to_string(invoke.deadline_epoch_ms));
  headers.emplace_back(std::string(kFunctionArn), invoke.invoked_function_arn);
  headers.emplace_back("Content-Type", invoke.content_type);
  if (!invoke.client_context.empty()) {
    headers.emplace_back(std::string(kClientContext), invoke.client_context);
  }
  if (!invoke.tenant_id.empty()) {
    headers.emplace_back(std::string(kTenantId), invoke.tenant_id);
  }
  if (invoke.tail_logs) {
    headers.emplace_back(std::string(kLogType), "Tail");
  }
}

Result<InvokeHeaders> decodeInvoke(const HeaderList& headers) {
  InvokeHeaders invoke;
  invoke.request_id = valueOf(headers, kRequestId);
  invoke.invoked_function_arn = valueOf(headers, kFunctionArn);
  invoke.client_context = valueOf(headers, kClientContext);
  invoke.tenant_id = valueOf(headers, kTenantId);
  invoke.tail_logs = valueOf(headers, kLogType) == "Tail";
  if (const std::string* ct = findHeader(headers, "Content-Type")) {
    invoke.content_type = *ct;
  }
  std::string deadline = valueOf(headers, kDeadline);
  if (!deadline.empty()) {
    auto [end, ec] = std::from_chars(deadline.data(), deadline.data() + deadline.size(),
                                     invoke.deadline_epoch_ms);
    if (ec != std::errc() || end != deadline.data() + deadline.size() ||
        invoke.deadline_epoch_ms < 0) {
      return invalidParameter("bad " + std::string(kDeadline));
    }
  }
  return invoke;
}

HttpResponse encodeAnswer(const InvokeAnswer& answer, std::string body) {
  HttpResponse response;
  if (answer.outcome == InvokeOutcome::kRefused) {
    response.status = 429;
    response.set(std::string(kRefused), answer.refusal);
    return response;
  }
  response.status = 200;
  response.set(std::string(kOutcome), std::string(outcomeName(answer.outcome)));
  if (!answer.error_type.empty()) {
    response.set(std::string(kErrorType), answer.error_type);
  }
  if (!answer.log_result.empty()) {
    response.set(std::string(kLogResult), answer.log_result);
  }
  response.set("Content-Type",
               answer.content_type.empty() ? "application/json" : answer.content_type);
  response.body = std::move(body);
  return response;
}

Result<InvokeAnswer> decodeAnswer(const HttpResponse& response) {
  InvokeAnswer answer;
  if (response.status == 429) {
    answer.outcome = InvokeOutcome::kRefused;
    answer.refusal = valueOf(response.headers, kRefused);
    return answer;
  }
  auto outcome = outcomeFromName(valueOf(response.headers, kOutcome));
  if (response.status != 200 || !outcome || *outcome == InvokeOutcome::kRefused) {
    return invalidParameter("agent answered HTTP " + std::to_string(response.status) +
                            " without an outcome");
  }
  answer.outcome = *outcome;
  answer.error_type = valueOf(response.headers, kErrorType);
  answer.log_result = valueOf(response.headers, kLogResult);
  answer.content_type = valueOf(response.headers, "Content-Type");
  return answer;
}

}  // namespace hearth::protocol
