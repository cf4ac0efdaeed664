#pragma once

#include <optional>
#include <string>

#include "net/http.h"

namespace hearth {

class FleetMetrics;

// The observability edge, read-only and never on the Store:
//   GET /metrics                                   Prometheus text (0.0.4)
//   GET /_hearth/v1/metrics                        the newest sample: providers, instances,
//                                                  versions, EEs
//   GET /_hearth/v1/metrics/history?seconds=N      per-second version and provider rows
//       [&function=NAME]                           (N ≤ the history kept, default 60)
//   GET /_hearth/v1/activity?after=SEQ&limit=N     the activity log, oldest first
//   GET /_hearth/v1/cost                           cost so far per provider and function
// Returns std::nullopt for any other request.
std::optional<HttpResponse> serveMetrics(const FleetMetrics& metrics, const HttpRequest& request,
                                         const std::string& request_id);

}  // namespace hearth
