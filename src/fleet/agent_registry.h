#pragma once

#include <string>

#include "common/clock.h"
#include "fleet/fleet_state.h"
#include "net/http.h"

namespace hearth {

class CodeStore;
class LogStore;

// Serves the agent protocol under /_hearth/agent/v1/: register, heartbeat, logs, code. Checks the
// agent token, decodes with the protocol codec, and hands reports to the FleetState. Called on
// the server's control work queue (log appends and code reads touch files); never touches the
// Store. Thread-safe. Pointers must outlive it; `logs` and
// `code` may be null (their routes then answer 503).
class AgentRegistry {
 public:
  AgentRegistry(FleetState* state, LogStore* logs, CodeStore* code, const Clock* clock,
                std::string token);

  HttpResponse handle(const HttpRequest& request);

 private:
  HttpResponse handleRegister(const std::string& body);
  HttpResponse handleHeartbeat(const std::string& body);
  HttpResponse handleLogs(const std::string& body);
  HttpResponse handleCode(std::string_view hex);

  FleetState* state_;
  LogStore* logs_;
  CodeStore* code_;
  const Clock* clock_;
  std::string token_;
};

}  // namespace hearth
