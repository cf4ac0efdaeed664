#include "fleet/agent_registry.h"

#include <spdlog/spdlog.h>

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <map>
#include <vector>

#include "artifact/code_store.h"
#include "controlplane/names.h"
#include "logs/log_store.h"

namespace hearth {
namespace {

HttpResponse message(int status, std::string_view text) {
  HttpResponse response;
  response.status = status;
  response.set("Content-Type", "application/json");
  response.body = boost::json::serialize(boost::json::object{{"message", text}});
  return response;
}

HttpResponse jsonBody(std::string body) {
  HttpResponse response;
  response.status = 200;
  response.set("Content-Type", "application/json");
  response.body = std::move(body);
  return response;
}

}  // namespace

AgentRegistry::AgentRegistry(FleetState* state, LogStore* logs, CodeStore* code, const Clock* clock,
                             std::string token)
    : state_(state), logs_(logs), code_(code), clock_(clock), token_(std::move(token)) {}

HttpResponse AgentRegistry::handle(const HttpRequest& request) {
  const std::string* token = request.header(protocol::kTokenHeader);
  if (token == nullptr || *token != token_) {
    return message(403, "bad agent token");
  }
  std::string_view target = request.target;
  if (target == "/_hearth/agent/v1/register" && request.method == "POST") {
    return handleRegister(request.body);
  }
  if (target == "/_hearth/agent/v1/heartbeat" && request.method == "POST") {
    return handleHeartbeat(request.body);
  }
  if (target == "/_hearth/agent/v1/logs" && request.method == "POST") {
    return handleLogs(request.body);
  }
  constexpr std::string_view kCode = "/_hearth/agent/v1/code/";
  if (target.substr(0, kCode.size()) == kCode && request.method == "GET") {
    return handleCode(target.substr(kCode.size()));
  }
  return message(404, "unknown agent route");
}

HttpResponse AgentRegistry::handleRegister(const std::string& body) {
  auto registration = protocol::decodeRegistration(body);
  if (!registration.isOk()) {
    return message(400, registration.status().message());
  }
  Status known = state_->onRegister(*registration, clock_->steadyNow());
  if (!known.isOk()) {
    return message(403, known.message());
  }
  spdlog::info("fleet: instance {} registered at {}:{}", registration->instance_id,
               registration->host, registration->port);
  return jsonBody(protocol::encode(protocol::RegistrationReply{1000}));
}

HttpResponse AgentRegistry::handleHeartbeat(const std::string& body) {
  auto heartbeat = protocol::decodeHeartbeat(body);
  if (!heartbeat.isOk()) {
    return message(400, heartbeat.status().message());
  }
  auto reply = state_->onHeartbeat(*heartbeat, clock_->steadyNow());
  if (!reply.isOk()) {
    return message(404, reply.status().message());
  }
  return jsonBody(protocol::encode(*reply));
}

HttpResponse AgentRegistry::handleLogs(const std::string& body) {
  if (logs_ == nullptr) {
    return message(503, "no log store");
  }
  auto batch = protocol::decodeLogBatch(body);
  if (!batch.isOk()) {
    return message(400, batch.status().message());
  }
  std::map<std::string, std::vector<std::string>> by_function;
  for (auto& line : batch->lines) {
    if (isValidFunctionName(line.function)) {
      by_function[line.function].push_back(std::move(line.line));
    }
  }
  for (const auto& [fn, lines] : by_function) {
    Status stored = logs_->append(fn, lines);
    if (!stored.isOk()) {
      // The agent keeps the batch and sends it again.
      return message(503, stored.message());
    }
  }
  HttpResponse stored;
  stored.status = 204;
  return stored;
}

HttpResponse AgentRegistry::handleCode(std::string_view hex) {
  if (code_ == nullptr) {
    return message(503, "no code store");
  }
  auto zip = code_->read(hex);
  if (!zip.isOk()) {
    return message(404, "no such code");
  }
  HttpResponse response;
  response.set("Content-Type", "application/zip");
  response.body = std::move(zip).value();
  return response;
}

}  // namespace hearth
