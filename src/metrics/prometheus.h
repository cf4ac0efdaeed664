#pragma once

#include <string>
#include <vector>

#include "metrics/cost_meter.h"
#include "metrics/fleet_sample.h"
#include "metrics/request_counters.h"

namespace hearth {

// The Prometheus text exposition format (version 0.0.4) of the newest sample (gauges), the
// cumulative request totals (counters) and the cost so far. `latest` may be null (no sample yet).
std::string renderPrometheus(const FleetSample* latest, const std::vector<RequestTotals>& totals,
                             const CostReport& cost);

// A label value escaped for the text format (backslash, double quote, newline).
std::string escapePrometheusLabel(const std::string& value);

}  // namespace hearth
