#include <gtest/gtest.h>

#include <thread>

#include "metrics/cost_meter.h"
#include "metrics/fleet_metrics.h"
#include "metrics/latency_histogram.h"
#include "metrics/metrics_history.h"
#include "metrics/prometheus.h"
#include "metrics/request_counters.h"

namespace hearth {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

TEST(LatencyHistogram, QuantilesWithinABucket) {
  LatencyHistogram h;
  for (int i = 1; i <= 100; ++i) {
    h.record(milliseconds(i));
  }
  HistogramCounts counts = h.snapshot();
  EXPECT_EQ(counts.total(), 100u);
  double p50 = counts.quantileMs(0.5);
  double p99 = counts.quantileMs(0.99);
  EXPECT_GE(p50, 50);
  EXPECT_LE(p50, 50 * 1.19);
  EXPECT_GE(p99, 99);
  EXPECT_LE(p99, 99 * 1.19);
  EXPECT_EQ(HistogramCounts{}.quantileMs(0.5), 0);
}

TEST(LatencyHistogram, BucketEdges) {
  EXPECT_EQ(LatencyHistogram::bucketOf(microseconds(0)), 0);
  EXPECT_EQ(LatencyHistogram::bucketOf(microseconds(49)), 0);
  EXPECT_EQ(LatencyHistogram::bucketOf(microseconds(50)), 1);
  EXPECT_EQ(LatencyHistogram::bucketOf(std::chrono::hours(10)), kLatencyBuckets - 1);
  for (int b = 1; b < kLatencyBuckets - 1; ++b) {
    double upper = LatencyHistogram::upperBoundMs(b);
    EXPECT_EQ(LatencyHistogram::bucketOf(
                  std::chrono::nanoseconds(static_cast<int64_t>(upper * 1e6) - 1000)),
              b);
  }
}

TEST(LatencyHistogram, SinceSubtractsAnEarlierSnapshot) {
  LatencyHistogram h;
  h.record(milliseconds(1));
  HistogramCounts before = h.snapshot();
  h.record(milliseconds(100));
  h.record(milliseconds(100));
  HistogramCounts delta = h.snapshot().since(before);
  EXPECT_EQ(delta.total(), 2u);
  EXPECT_GE(delta.quantileMs(0.5), 100);
}

TEST(VersionCounters, CountsFromManyThreads) {
  VersionCounters counters("fn", "1");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        counters.recordAnswered(milliseconds(2), i % 10 == 0);
        counters.recordConcurrencyThrottle();
      }
    });
  }
  for (auto& t : threads) {
    t.join();
  }
  RequestTotals totals = counters.totals();
  EXPECT_EQ(totals.invocations, 4000u);
  EXPECT_EQ(totals.function_errors, 400u);
  EXPECT_EQ(totals.concurrency_throttles, 4000u);
  EXPECT_EQ(totals.busy_nanos, 4000ull * 2000000ull);
  EXPECT_EQ(totals.latency.total(), 4000u);
}

FleetSample sampleAt(int second, int environments = 1) {
  FleetSample s;
  s.steady = std::chrono::steady_clock::time_point(std::chrono::seconds(second));
  for (int i = 0; i < environments; ++i) {
    s.environments.push_back(EnvironmentSample{});
  }
  s.versions.push_back(VersionSample{});
  return s;
}

TEST(MetricsHistory, BoundedWithDetailOnlyForTheNewest) {
  MetricsHistory history(5, 2);
  for (int i = 1; i <= 8; ++i) {
    history.append(sampleAt(i, 3));
  }
  EXPECT_EQ(history.size(), 5u);
  auto all = history.newest(100);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all.front()->steady.time_since_epoch(), std::chrono::seconds(4));
  EXPECT_TRUE(all[0]->environments.empty());
  EXPECT_TRUE(all[2]->environments.empty());
  EXPECT_EQ(all[3]->environments.size(), 3u);
  EXPECT_EQ(all[4]->environments.size(), 3u);
  EXPECT_EQ(all[0]->versions.size(), 1u);  // summaries stay
  auto recent = history.since(std::chrono::steady_clock::time_point(std::chrono::seconds(6)), 10);
  ASSERT_EQ(recent.size(), 2u);
  EXPECT_EQ(history.since({}, 1).size(), 1u);
  EXPECT_EQ(history.latest()->steady.time_since_epoch(), std::chrono::seconds(8));
}

TEST(ActivityLog, SequencedAndBounded) {
  ActivityLog log(3);
  for (int i = 0; i < 5; ++i) {
    ActivityEntry e;
    e.kind = "ScaleOut";
    e.to = i;
    log.record(e);
  }
  auto newest = log.newest(10);
  ASSERT_EQ(newest.size(), 3u);
  EXPECT_EQ(newest.front().sequence, 3u);
  EXPECT_EQ(newest.back().to, 4);
  auto after = log.after(4, 10);
  ASSERT_EQ(after.size(), 1u);
  EXPECT_EQ(after[0].sequence, 5u);
}

TEST(CostMeter, InstanceHoursFeeAndRequests) {
  CostMeter meter;
  // One hour of a $0.36/h instance shared by two functions, 3:1 by CPU, and a million requests.
  for (int s = 0; s < 3600; ++s) {
    FleetSample sample;
    sample.interval_seconds = 1;
    InstanceSample inst;
    inst.id = "i-1";
    inst.capacity_provider = "cp";
    inst.type = "c7i.large";
    inst.price_per_hour = 0.36;
    sample.instances.push_back(inst);
    EnvironmentSample a;
    a.instance_id = "i-1";
    a.function = "a";
    a.vcpus = 1;
    a.cpu_utilization = 0.75;
    EnvironmentSample b = a;
    b.function = "b";
    b.cpu_utilization = 0.25;
    sample.environments = {a, b};
    VersionSample v;
    v.function = "a";
    v.capacity_provider = "cp";
    v.invocations = s < 1000 ? 1000 : 0;
    sample.versions.push_back(v);
    meter.add(sample);
  }
  CostReport report = meter.report();
  ASSERT_EQ(report.providers.size(), 1u);
  const ProviderCost& p = report.providers[0];
  EXPECT_NEAR(p.instance_cost, 0.36, 1e-9);
  EXPECT_NEAR(p.management_fee, 0.054, 1e-9);
  EXPECT_EQ(p.requests, 1000000u);
  EXPECT_NEAR(p.request_cost, 0.20, 1e-9);
  EXPECT_NEAR(report.total(), 0.614, 1e-9);
  EXPECT_NEAR(p.instance_seconds.at("c7i.large"), 3600, 1e-9);
  ASSERT_EQ(report.functions.size(), 2u);
  EXPECT_NEAR(report.functions[0].instance_cost, 0.414 * 0.75, 1e-9);
  EXPECT_NEAR(report.functions[0].total(), 0.414 * 0.75 + 0.2, 1e-9);
  EXPECT_NEAR(report.functions[1].instance_cost, 0.414 * 0.25, 1e-9);
  EXPECT_NEAR(report.unattributed, 0, 1e-12);
}

TEST(CostMeter, EmptyInstancesAreUnattributedAndIdleEEsShareByVCpus) {
  CostMeter meter;
  FleetSample sample;
  sample.interval_seconds = 3600;
  InstanceSample empty;
  empty.id = "i-empty";
  empty.capacity_provider = "cp";
  empty.type = "m7i.large";
  empty.price_per_hour = 1;
  InstanceSample used = empty;
  used.id = "i-used";
  sample.instances = {empty, used};
  EnvironmentSample a;
  a.instance_id = "i-used";
  a.function = "a";
  a.vcpus = 1;
  EnvironmentSample b = a;
  b.function = "b";
  b.vcpus = 3;
  sample.environments = {a, b};
  meter.add(sample);
  CostReport report = meter.report();
  EXPECT_NEAR(report.unattributed, 1.15, 1e-9);
  EXPECT_NEAR(report.functions[0].instance_cost, 1.15 * 0.25, 1e-9);
  EXPECT_NEAR(report.functions[1].instance_cost, 1.15 * 0.75, 1e-9);
}

TEST(Prometheus, EscapesLabelsAndDeclaresEachFamilyOnce) {
  FleetSample sample;
  VersionSample v;
  v.function = "fn\"x\\y\nz";
  v.version = "1";
  v.ready = 2;
  sample.versions.push_back(v);
  RequestTotals totals;
  totals.function = "fn";
  totals.version = "1";
  totals.invocations = 1000000;
  std::string text = renderPrometheus(&sample, {totals}, CostReport{});
  EXPECT_NE(text.find(R"(function="fn\"x\\y\nz")"), std::string::npos);
  EXPECT_NE(text.find("hearth_invocations_total{function=\"fn\",version=\"1\"} 1000000\n"),
            std::string::npos)
      << text;
  size_t first = text.find("# TYPE hearth_execution_environments gauge");
  EXPECT_NE(first, std::string::npos);
  EXPECT_EQ(text.find("# TYPE hearth_execution_environments gauge", first + 1), std::string::npos);
  EXPECT_NE(text.find("hearth_execution_environments{function=\"fn\\\"x\\\\y\\nz\",version=\"1\","
                      "state=\"Ready\"} 2"),
            std::string::npos);
  EXPECT_EQ(renderPrometheus(nullptr, {}, CostReport{}).find("hearth_request_rate"),
            std::string::npos);
}

TEST(FleetMetrics, RecordsSamplesTotalsAndCost) {
  FleetMetrics metrics(10);
  FleetSample sample;
  sample.interval_seconds = 1;
  InstanceSample inst;
  inst.capacity_provider = "cp";
  inst.price_per_hour = 3600;
  sample.instances.push_back(inst);
  RequestTotals t;
  t.invocations = 7;
  metrics.record(sample, {t});
  EXPECT_EQ(metrics.history().size(), 1u);
  EXPECT_EQ(metrics.totals().at(0).invocations, 7u);
  EXPECT_NEAR(metrics.cost().total(), 1.15, 1e-9);
}

}  // namespace
}  // namespace hearth
