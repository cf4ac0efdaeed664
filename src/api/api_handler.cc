#include "api/api_handler.h"

#include "api/json_check.h"

#include <spdlog/spdlog.h>

#include <fmt/format.h>
#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "api/aws_error.h"
#include "api/metrics_api.h"
#include "api/replies.h"
#include "artifact/code_store.h"
#include "artifact/encoding.h"
#include "auth/sigv4.h"
#include "common/ids.h"
#include "common/work_queue.h"
#include "controlplane/capacity_providers.h"
#include "controlplane/function_config.h"
#include "controlplane/functions.h"
#include "controlplane/json_fields.h"
#include "controlplane/tags.h"
#include "logs/log_store.h"
#include "router/router.h"

namespace hearth {
namespace json = boost::json;

namespace {

// CreateFunction and UpdateFunctionCode carry a base64 zip of up to 50 MB: AWS's request limit
// for them is 70167211 bytes. Invoke payloads are 6 MB; other operations are small.
constexpr size_t kCodeUploadLimit = 70167211;
constexpr size_t kInvokeLimit = 6 * 1024 * 1024 + 100;
constexpr size_t kDefaultLimit = 1024 * 1024;
constexpr size_t kMaxResponsePayload = 6291556;

std::vector<std::string> splitPath(const std::string& raw_path, bool* ok) {
  std::vector<std::string> segments;
  size_t start = 1;
  *ok = !raw_path.empty() && raw_path[0] == '/';
  while (*ok && start <= raw_path.size()) {
    size_t slash = raw_path.find('/', start);
    std::string_view raw = std::string_view(raw_path).substr(
        start, slash == std::string::npos ? std::string::npos : slash - start);
    std::string decoded;
    if (!percentDecode(raw, false, &decoded)) {
      *ok = false;
      break;
    }
    segments.push_back(std::move(decoded));
    if (slash == std::string::npos) {
      break;
    }
    start = slash + 1;
  }
  // "/2015-03-31/functions/" and "/2015-03-31/functions" are the same route.
  if (!segments.empty() && segments.back().empty()) {
    segments.pop_back();
  }
  return segments;
}

Result<std::optional<int64_t>> intParam(const ParsedTarget& target, std::string_view name) {
  const std::string* value = target.param(name);
  if (value == nullptr) {
    return std::optional<int64_t>();
  }
  int64_t out = 0;
  auto [ptr, ec] = std::from_chars(value->data(), value->data() + value->size(), out);
  if (ec != std::errc() || ptr != value->data() + value->size()) {
    return validationError(*value, std::string(name), "Member must be an integer");
  }
  return std::optional<int64_t>(out);
}

std::optional<std::string> optParam(const ParsedTarget& target, std::string_view name) {
  const std::string* value = target.param(name);
  return value ? std::optional<std::string>(*value) : std::nullopt;
}

Status unknownOperation(const HttpRequest& request) {
  return Status(StatusCode::kUnknownOperation,
                "No operation matches " + request.method + " " + request.target.substr(0, 200));
}

}  // namespace

ApiHandler::ApiHandler(ApiDeps deps) : deps_(deps) {}

size_t ApiHandler::bodyLimitFor(const std::string& method, const std::string& target) {
  if (target.find("/invocations") != std::string::npos) {
    return kInvokeLimit;
  }
  if ((method == "POST" && target.rfind("/2015-03-31/functions", 0) == 0 &&
       target.find('/', std::string_view("/2015-03-31/functions/").size()) == std::string::npos) ||
      (method == "PUT" && target.find("/code") != std::string::npos)) {
    return kCodeUploadLimit;
  }
  return kDefaultLimit;
}

HttpResponse ApiHandler::transportErrorResponse(TransportError error) {
  std::string request_id = newUuid();
  HttpResponse response;
  switch (error) {
    case TransportError::kBodyTooLarge:
      response = renderAwsError(
          Status(StatusCode::kPayloadTooLarge,
                 "Request must be smaller than 70167211 bytes for code uploads and 6291556 bytes "
                 "for invocations."),
          request_id);
      break;
    case TransportError::kHeaderTooLarge:
      response = renderAwsError(
          Status(StatusCode::kHeadersTooLarge, "The request header fields are too large."),
          request_id);
      break;
    case TransportError::kBadRequest:
      response = renderAwsError(
          Status(StatusCode::kInvalidRequestContent,
                 "The request could not be parsed, or its body length cannot be determined "
                 "(RFC 9112 section 6.3)."),
          request_id);
      break;
    case TransportError::kNotImplemented:
      response = renderAwsError(Status(StatusCode::kNotImplemented,
                                       "Transfer codings other than chunked are not supported."),
                                request_id);
      break;
    case TransportError::kReadTimeout:
      response = renderAwsError(
          Status(StatusCode::kRequestTimeout, "Timed out reading the request."), request_id);
      break;
    case TransportError::kTooManyConnections:
      response =
          renderAwsError(Status(StatusCode::kUnavailable,
                                "Too many open connections from this client address; retry later."),
                         request_id);
      response.set("Retry-After", "1");
      break;
  }
  response.set("Connection", "close");
  return response;
}

void ApiHandler::handle(HttpRequest request, Responder respond) {
  std::string request_id = newUuid();
  if (request.target == "/healthz" || request.target.rfind("/healthz?", 0) == 0) {
    HttpResponse response;
    if (request.method != "GET" && request.method != "HEAD") {
      response.status = 405;
      response.set("Allow", "GET, HEAD");
      response.set("Content-Type", "application/json");
      response.body = R"({"message":"/healthz answers GET and HEAD only"})";
      respond(std::move(response));
      return;
    }
    response.status = ready_ ? 200 : 503;
    response.set("Content-Type", "application/json");
    response.body = ready_ ? R"({"status":"ok"})" : R"({"status":"starting"})";
    respond(std::move(response));
    return;
  }
  if (request.target.rfind("/_hearth/agent/", 0) == 0 && deps_.agent_handler) {
    // Agents authenticate with the agent token, not SigV4.
    auto shared_request = std::make_shared<HttpRequest>(std::move(request));
    auto shared_respond = std::make_shared<Responder>(std::move(respond));
    if (!deps_.control_work->trySubmit([this, shared_request, shared_respond] {
          (*shared_respond)(deps_.agent_handler(*shared_request));
        })) {
      HttpResponse busy;
      busy.status = 503;
      (*shared_respond)(std::move(busy));
    }
    return;
  }
  if (deps_.verifier != nullptr) {
    SignedRequest signed_request{request.method, request.target, request.headers, request.body};
    Status verified = deps_.verifier->verify(signed_request);
    if (!verified.isOk()) {
      respond(renderAwsError(verified, request_id));
      return;
    }
  }
  if (deps_.metrics != nullptr) {
    // Read from memory, never the Store: answered on the I/O thread.
    if (auto response = serveMetrics(*deps_.metrics, request, request_id)) {
      respond(std::move(*response));
      return;
    }
  }
  // The control plane reads and writes the state store, which may block: run it off the I/O
  // thread. A full queue sheds load instead of queueing without bound.
  auto shared_request = std::make_shared<HttpRequest>(std::move(request));
  auto shared_respond = std::make_shared<Responder>(std::move(respond));
  // Synchronous invokes go straight to the router from the I/O thread: no Store on that path.
  if (deps_.router != nullptr && shared_request->method == "POST") {
    ParsedTarget target;
    if (parseTarget(shared_request->target, &target)) {
      bool ok = false;
      std::vector<std::string> seg = splitPath(target.raw_path, &ok);
      const std::string* type = shared_request->header("X-Amz-Invocation-Type");
      if (ok && seg.size() == 4 && seg[0] == "2015-03-31" && seg[1] == "functions" &&
          seg[3] == "invocations" && (type == nullptr || *type == "RequestResponse")) {
        routeInvoke(shared_request, seg[2], optParam(target, "Qualifier"), request_id,
                    shared_respond);
        return;
      }
    }
  }
  bool queued = deps_.control_work->trySubmit([this, shared_request, shared_respond, request_id] {
    HttpResponse response;
    try {
      response = execute(*shared_request, request_id);
    } catch (const std::exception& e) {
      spdlog::error("request {} {} failed: {}", shared_request->method, shared_request->target,
                    e.what());
      response = renderAwsError(internalError("An internal error occurred."), request_id);
    }
    (*shared_respond)(std::move(response));
  });
  if (!queued) {
    (*shared_respond)(renderAwsError(
        Status(StatusCode::kThrottled, "Rate exceeded").withReason("CallerRateLimitExceeded", 1),
        request_id));
  }
}

HttpResponse ApiHandler::execute(const HttpRequest& request, const std::string& id) {
  ParsedTarget target;
  if (!parseTarget(request.target, &target)) {
    return renderAwsError(Status(StatusCode::kInvalidRequestContent,
                                 "The request target is not valid percent-encoding."),
                          id);
  }
  bool path_ok = false;
  std::vector<std::string> seg = splitPath(target.raw_path, &path_ok);
  if (!path_ok) {
    return renderAwsError(unknownOperation(request), id);
  }
  const std::string& m = request.method;
  auto body = [&]() { return parseJsonObject(request.body); };
  auto reply = [&](Result<json::object> result, int status) {
    return result.isOk() ? jsonResponse(status, *result, id) : renderAwsError(result.status(), id);
  };
  auto replyEmpty = [&](const Status& status, int code) {
    return status.isOk() ? emptyResponse(code, id) : renderAwsError(status, id);
  };
  size_t n = seg.size();
  auto is = [&](size_t i, std::string_view s) { return i < n && seg[i] == s; };

  FunctionRegistry& fns = *deps_.functions;
  CapacityProviderRegistry& cps = *deps_.providers;

  if (is(0, "2015-03-31") && is(1, "functions")) {
    if (n == 2) {
      if (m == "POST") {
        auto req = body();
        if (!req.isOk())
          return renderAwsError(req.status(), id);
        return reply(fns.createFunction(*req), 201);
      }
      if (m == "GET") {
        auto max = intParam(target, "MaxItems");
        if (!max.isOk())
          return renderAwsError(max.status(), id);
        return reply(fns.listFunctions(optParam(target, "Marker"), *max,
                                       optParam(target, "FunctionVersion")),
                     200);
      }
    }
    if (n >= 3) {
      const std::string& fn = seg[2];
      auto qualifier = optParam(target, "Qualifier");
      if (n == 3) {
        if (m == "GET")
          return reply(fns.getFunction(fn, qualifier), 200);
        if (m == "DELETE") {
          auto deleted = fns.deleteFunction(fn, qualifier);
          if (!deleted.isOk())
            return renderAwsError(deleted.status(), id);
          return emptyResponse(deleted->asynchronous ? 202 : 204, id);
        }
      }
      if (n == 4 && seg[3] == "configuration") {
        if (m == "GET")
          return reply(fns.getFunctionConfiguration(fn, qualifier), 200);
        if (m == "PUT") {
          auto req = body();
          if (!req.isOk())
            return renderAwsError(req.status(), id);
          return reply(fns.updateFunctionConfiguration(fn, *req), 200);
        }
      }
      if (n == 4 && seg[3] == "code" && m == "PUT") {
        auto req = body();
        if (!req.isOk())
          return renderAwsError(req.status(), id);
        return reply(fns.updateFunctionCode(fn, *req), 200);
      }
      if (n == 4 && seg[3] == "versions") {
        if (m == "POST") {
          auto req = body();
          if (!req.isOk())
            return renderAwsError(req.status(), id);
          return reply(fns.publishVersion(fn, *req), 201);
        }
        if (m == "GET") {
          auto max = intParam(target, "MaxItems");
          if (!max.isOk())
            return renderAwsError(max.status(), id);
          return reply(fns.listVersions(fn, optParam(target, "Marker"), *max), 200);
        }
      }
      if (n == 4 && seg[3] == "aliases") {
        if (m == "POST") {
          auto req = body();
          if (!req.isOk())
            return renderAwsError(req.status(), id);
          return reply(fns.createAlias(fn, *req), 201);
        }
        if (m == "GET") {
          auto max = intParam(target, "MaxItems");
          if (!max.isOk())
            return renderAwsError(max.status(), id);
          return reply(fns.listAliases(fn, optParam(target, "FunctionVersion"),
                                       optParam(target, "Marker"), *max),
                       200);
        }
      }
      if (n == 5 && seg[3] == "aliases") {
        const std::string& alias = seg[4];
        if (m == "GET")
          return reply(fns.getAlias(fn, alias), 200);
        if (m == "DELETE")
          return replyEmpty(fns.deleteAlias(fn, alias), 204);
        if (m == "PUT") {
          auto req = body();
          if (!req.isOk())
            return renderAwsError(req.status(), id);
          return reply(fns.updateAlias(fn, alias, *req), 200);
        }
      }
      if (n == 4 && seg[3] == "invocations" && m == "POST") {
        return invoke(request, fn, qualifier, id);
      }
    }
  }

  if (is(0, "2025-11-30") && is(1, "capacity-providers")) {
    if (n == 2 && m == "POST") {
      auto req = body();
      if (!req.isOk())
        return renderAwsError(req.status(), id);
      return reply(cps.create(*req), 202);
    }
    if (n == 2 && m == "GET") {
      auto max = intParam(target, "MaxItems");
      if (!max.isOk())
        return renderAwsError(max.status(), id);
      return reply(cps.list(optParam(target, "State"), optParam(target, "Marker"), *max), 200);
    }
    if (n == 3) {
      if (m == "GET")
        return reply(cps.get(seg[2]), 200);
      if (m == "DELETE")
        return reply(cps.remove(seg[2]), 202);
      if (m == "PUT") {
        auto req = body();
        if (!req.isOk())
          return renderAwsError(req.status(), id);
        return reply(cps.update(seg[2], *req), 202);
      }
    }
    if (n == 4 && seg[3] == "function-versions" && m == "GET") {
      auto max = intParam(target, "MaxItems");
      if (!max.isOk())
        return renderAwsError(max.status(), id);
      return reply(cps.listFunctionVersions(seg[2], optParam(target, "Marker"), *max), 200);
    }
  }

  if (is(0, "2025-11-30") && is(1, "functions") && n == 4 && seg[3] == "function-scaling-config") {
    auto qualifier = optParam(target, "Qualifier");
    if (m == "GET")
      return reply(fns.getScalingConfig(seg[2], qualifier), 200);
    if (m == "PUT") {
      auto req = body();
      if (!req.isOk())
        return renderAwsError(req.status(), id);
      return reply(fns.putScalingConfig(seg[2], qualifier, *req), 202);
    }
  }

  if (is(0, "_hearth") && is(1, "v1") && is(2, "fleet") && n == 3 && m == "GET" &&
      deps_.fleet_stats_json) {
    HttpResponse response = emptyResponse(200, id);
    response.set("Content-Type", "application/json");
    response.body = deps_.fleet_stats_json();
    return response;
  }

  if (is(0, "_hearth") && is(1, "v1") && is(2, "logs") && n == 4 && m == "GET" &&
      deps_.logs != nullptr) {
    auto ref = parseFunctionRef(seg[3], deps_.functions->account());
    if (!ref.isOk()) {
      return renderAwsError(ref.status(), id);
    }
    auto limit = intParam(target, "limit");
    auto cursor = intParam(target, "cursor");
    if (!limit.isOk() || !cursor.isOk() || (*cursor && **cursor < 0)) {
      return renderAwsError(
          invalidParameter("limit must be an integer and cursor a non-negative integer"), id);
    }
    size_t max = static_cast<size_t>(std::clamp<int64_t>(limit->value_or(100), 1, 10000));
    auto page = *cursor ? deps_.logs->read(ref->name, static_cast<uint64_t>(**cursor), max)
                        : deps_.logs->tail(ref->name, max);
    if (!page.isOk()) {
      return renderAwsError(page.status(), id);
    }
    json::array lines;
    for (auto& line : page->lines) {
      lines.emplace_back(line);
    }
    return jsonResponse(200, json::object{{"lines", std::move(lines)}, {"cursor", page->cursor}},
                        id);
  }

  if (is(0, "_hearth") && is(1, "code") && n == 3 && m == "GET" && deps_.code != nullptr) {
    std::string hex = seg[2].size() > 4 && seg[2].substr(seg[2].size() - 4) == ".zip"
                          ? seg[2].substr(0, seg[2].size() - 4)
                          : seg[2];
    auto zip = deps_.code->read(hex);
    if (!zip.isOk()) {
      return renderAwsError(notFound("Code not found: " + seg[2]), id);
    }
    HttpResponse response = emptyResponse(200, id);
    response.set("Content-Type", "application/zip");
    response.body = std::move(zip).value();
    return response;
  }

  if (is(0, "2017-03-31") && is(1, "tags") && n == 3) {
    const std::string& arn = seg[2];
    if (m == "GET")
      return reply(deps_.tags->listTags(arn), 200);
    if (m == "POST") {
      auto req = body();
      if (!req.isOk())
        return renderAwsError(req.status(), id);
      return replyEmpty(deps_.tags->tagResource(arn, *req), 204);
    }
    if (m == "DELETE") {
      return replyEmpty(deps_.tags->untagResource(arn, target.params("tagKeys")), 204);
    }
  }
  return renderAwsError(unknownOperation(request), id);
}

HttpResponse ApiHandler::invoke(const HttpRequest& request, const std::string& function,
                                const std::optional<std::string>& qualifier,
                                const std::string& id) {
  const std::string* type_header = request.header("X-Amz-Invocation-Type");
  std::string invocation_type = type_header ? *type_header : "RequestResponse";
  if (invocation_type != "RequestResponse" && invocation_type != "Event" &&
      invocation_type != "DryRun") {
    return renderAwsError(validationError(invocation_type, "invocationType",
                                          "Member must satisfy enum value set: [Event, "
                                          "RequestResponse, DryRun]"),
                          id);
  }
  if (!request.body.empty()) {
    if (Status payload = checkInvokePayload(request.body); !payload.isOk()) {
      return renderAwsError(payload, id);
    }
  }
  auto named = deps_.functions->resolveVersion(function, std::nullopt);
  if (!named.isOk()) {
    return renderAwsError(named.status(), id);
  }
  std::optional<std::string> effective = qualifier;
  bool managed = named->config.runsOnCapacityProvider();
  if (!effective && managed) {
    effective = std::string(kLatestPublished);
  }
  auto version = deps_.functions->resolveVersion(function, effective);
  if (!version.isOk()) {
    if (version.status().code() == StatusCode::kNotFound && !qualifier && managed) {
      return renderAwsError(Status(StatusCode::kNoPublishedVersion,
                                   "The function has no published version to invoke. Publish "
                                   "with PublishTo=LATEST_PUBLISHED or invoke a version."),
                            id);
    }
    return renderAwsError(version.status(), id);
  }
  FunctionState state = version->config.state;
  if (invocation_type == "DryRun") {
    HttpResponse response = emptyResponse(204, id);
    response.set("X-Amz-Executed-Version", version->config.version);
    return response;
  }
  if (invocation_type == "Event") {
    return renderAwsError(
        Status(StatusCode::kNotImplemented,
               "InvocationType Event (asynchronous invocation) is not yet supported by Hearth; "
               "use RequestResponse."),
        id);
  }
  if (state != FunctionState::kActive) {
    return renderAwsError(
        conflict("The operation cannot be performed at this time. The function is currently in "
                 "the following state: " +
                 std::string(functionStateName(state))),
        id);
  }
  if (!managed) {
    return renderAwsError(
        invalidParameter("Hearth runs functions on capacity providers: create the function with "
                         "CapacityProviderConfig and publish a version to invoke it."),
        id);
  }
  return renderAwsError(
      Status(StatusCode::kThrottled, "No execution environment of version " +
                                         version->config.version + " is ready yet; retry shortly.")
          .withReason("ConcurrentInvocationLimitExceeded", 1),
      id);
}

void ApiHandler::routeInvoke(std::shared_ptr<HttpRequest> request, std::string function,
                             std::optional<std::string> qualifier, std::string request_id,
                             std::shared_ptr<Responder> respond) {
  auto ref = parseFunctionRef(function, deps_.functions->account());
  if (!ref.isOk()) {
    (*respond)(renderAwsError(ref.status(), request_id));
    return;
  }
  if (ref->qualifier && qualifier && *ref->qualifier != *qualifier) {
    (*respond)(renderAwsError(invalidParameter("The derived qualifier from the function name does "
                                               "not match the specified qualifier."),
                              request_id));
    return;
  }
  if (!request->body.empty()) {
    if (Status payload = checkInvokePayload(request->body); !payload.isOk()) {
      (*respond)(renderAwsError(payload, request_id));
      return;
    }
  }
  RouterInvoke call;
  call.function_name = ref->name;
  call.qualifier = qualifier ? qualifier : ref->qualifier;
  call.request_id = request_id;
  call.payload = std::move(request->body);
  request->body.clear();
  if (const std::string* ct = request->header("Content-Type")) {
    call.content_type = *ct;
  }
  if (const std::string* cc = request->header("X-Amz-Client-Context")) {
    auto decoded = base64Decode(*cc);
    if (!decoded.isOk() || cc->size() > 3583) {
      (*respond)(renderAwsError(
          invalidParameter("Client context must be a valid Base64-encoded JSON object no longer "
                           "than 3583 bytes."),
          request_id));
      return;
    }
    call.client_context = std::move(decoded).value();
  }
  if (const std::string* log_type = request->header("X-Amz-Log-Type")) {
    if (*log_type != "None" && *log_type != "Tail") {
      (*respond)(renderAwsError(validationError(*log_type, "logType",
                                                "Member must satisfy enum value set: [None, "
                                                "Tail]"),
                                request_id));
      return;
    }
    call.tail_logs = *log_type == "Tail";
  }
  std::string function_name = ref->name;
  deps_.router->invoke(std::move(call), [this, request, function_name, qualifier, request_id,
                                         respond](RouterResult result) {
    finishInvoke(std::move(result), request, function_name, qualifier, request_id, respond,
                 /*may_reroute=*/true);
  });
}

void ApiHandler::finishInvoke(RouterResult result, std::shared_ptr<HttpRequest> request,
                              std::string function_name, std::optional<std::string> qualifier,
                              std::string request_id, std::shared_ptr<Responder> respond,
                              bool may_reroute) {
  if (result.status.code() == StatusCode::kNotFound) {
    // Not routable. The routing table may lag the Store by a moment (an alias created just
    // now): resolve the qualifier in the control plane and, if that names a version, route once
    // more with it; otherwise explain why (unknown function, not Active, no published version).
    std::shared_ptr<RouterInvoke> unrouted = result.unrouted;
    bool queued = deps_.control_work->trySubmit([this, request, function_name, qualifier,
                                                 request_id, respond, unrouted, may_reroute] {
      HttpResponse response;
      try {
        if (may_reroute && unrouted && unrouted->qualifier) {
          auto version = deps_.functions->resolveVersion(function_name, unrouted->qualifier);
          std::string resolved = version.isOk() ? version->config.version : "";
          if (!resolved.empty() && resolved != *unrouted->qualifier) {
            unrouted->qualifier = resolved;
            deps_.router->invoke(std::move(*unrouted), [this, request, function_name, qualifier,
                                                        request_id, respond](RouterResult again) {
              finishInvoke(std::move(again), request, function_name, qualifier, request_id, respond,
                           /*may_reroute=*/false);
            });
            return;
          }
        }
        response = invoke(*request, function_name, qualifier, request_id);
      } catch (const std::exception& e) {
        spdlog::error("invoke {} failed: {}", request_id, e.what());
        response = renderAwsError(internalError("An internal error occurred."), request_id);
      }
      (*respond)(std::move(response));
    });
    if (!queued) {
      (*respond)(renderAwsError(
          Status(StatusCode::kThrottled, "Rate exceeded").withReason("CallerRateLimitExceeded", 1),
          request_id));
    }
    return;
  }
  if (!result.status.isOk()) {
    (*respond)(renderAwsError(result.status, request_id));
    return;
  }
  HttpResponse response;
  response.status = 200;
  response.set("x-amzn-RequestId", request_id);
  response.set("X-Amz-Executed-Version", result.executed_version);
  if (!result.log_result.empty()) {
    response.set("X-Amz-Log-Result", result.log_result);
  }
  bool failed = result.outcome != protocol::InvokeOutcome::kSuccess;
  std::string body = std::move(result.body);
  if (!failed && body.size() > kMaxResponsePayload) {
    failed = true;
    body = json::serialize(json::object{
        {"errorMessage", fmt::format("Response payload size ({} bytes) exceeded maximum allowed "
                                     "payload size (6291556 bytes).",
                                     body.size())},
        {"errorType", "Function.ResponseSizeTooLarge"}});
    result.content_type = "application/json";
  }
  if (failed) {
    response.set("X-Amz-Function-Error", "Unhandled");
  }
  response.set("Content-Type",
               result.content_type.empty() ? "application/json" : result.content_type);
  response.body = std::move(body);
  (*respond)(std::move(response));
}

}  // namespace hearth
