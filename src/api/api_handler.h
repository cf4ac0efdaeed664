#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "net/http_server.h"
#include "router/router.h"

namespace hearth {

class CapacityProviderRegistry;
class CodeStore;
class FleetMetrics;
class LogStore;
class FunctionRegistry;
class SigV4Verifier;
class TagRegistry;
class WorkQueue;

// What the API needs. Every pointer must outlive the handler; `verifier` may be null (loopback:
// any credentials are accepted).
struct ApiDeps {
  FunctionRegistry* functions = nullptr;
  CapacityProviderRegistry* providers = nullptr;
  TagRegistry* tags = nullptr;
  WorkQueue* control_work = nullptr;  // runs blocking control-plane operations
  CodeStore* code = nullptr;          // serves Code.Location downloads
  Router* router = nullptr;           // the invoke path; null = control plane only
  LogStore* logs = nullptr;           // function logs for `hearth logs`
  // The agent protocol (/_hearth/agent/...); runs on the control work queue.
  std::function<HttpResponse(const HttpRequest&)> agent_handler;
  // Fleet counters for GET /_hearth/v1/fleet (instances, environments, ready environments).
  std::function<std::string()> fleet_stats_json;
  // Metrics, activity and cost (GET /metrics, /_hearth/v1/...); null = not served.
  const FleetMetrics* metrics = nullptr;
  const SigV4Verifier* verifier = nullptr;
};

// Serves the AWS Lambda REST API: matches each request to an operation, verifies SigV4 when
// configured, runs the operation on the control-plane work queue, and renders the AWS response
// or error. handle() is called on server I/O threads and never blocks.
class ApiHandler {
 public:
  explicit ApiHandler(ApiDeps deps);

  void handle(HttpRequest request, Responder respond);

  // Body limit for a request, chosen from its method and target before the body is read.
  static size_t bodyLimitFor(const std::string& method, const std::string& target);
  // Response for requests the transport rejected (too large, malformed).
  static HttpResponse transportErrorResponse(TransportError error);

  // /healthz answers 200 only after setReady(true).
  void setReady(bool ready) { ready_ = ready; }

 private:
  HttpResponse execute(const HttpRequest& request, const std::string& request_id);
  HttpResponse invoke(const HttpRequest& request, const std::string& function,
                      const std::optional<std::string>& qualifier, const std::string& request_id);
  // Sends a RequestResponse invoke through the router; falls back to invoke() on the work
  // queue to explain why a function is not routable.
  void routeInvoke(std::shared_ptr<HttpRequest> request, std::string function,
                   std::optional<std::string> qualifier, std::string request_id,
                   std::shared_ptr<Responder> respond);
  // Renders the router's answer; a not-routable one is resolved in the control plane (and
  // routed once more when `may_reroute` and the qualifier names a version).
  void finishInvoke(RouterResult result, std::shared_ptr<HttpRequest> request,
                    std::string function_name, std::optional<std::string> qualifier,
                    std::string request_id, std::shared_ptr<Responder> respond, bool may_reroute);

  ApiDeps deps_;
  std::atomic<bool> ready_{false};
};

}  // namespace hearth
