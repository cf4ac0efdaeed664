#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>

#include "common/clock.h"
#include "common/random.h"
#include "common/result.h"
#include "common/thread_annotations.h"
#include "protocol/invoke_protocol.h"
#include "router/routing_table.h"

namespace hearth {

class AsyncHttpClient;
class EventLoop;

struct RouterOptions {
  // How long an invocation may wait for a free slot before it is throttled (429).
  std::chrono::milliseconds max_queue_wait{50};
  size_t max_waiters_per_version = 1024;
  int max_refusal_retries = 2;  // other EEs tried after an agent refuses
  int retry_after_seconds = 1;
};

// An invocation entering the router.
struct RouterInvoke {
  std::string function_name;
  std::optional<std::string> qualifier;
  std::string request_id;
  std::string payload;
  std::string content_type = "application/json";
  std::string client_context;  // base64 as received
  bool tail_logs = false;
};

struct RouterResult {
  // kOk: `outcome`, `body` etc. describe the function's answer. Errors: kNotFound (not in the
  // routing table: the caller asks the control plane why), kThrottled, kUnavailable.
  Status status;
  std::string executed_version;
  protocol::InvokeOutcome outcome = protocol::InvokeOutcome::kSuccess;
  std::string error_type;
  std::string body;
  std::string content_type;
  std::string log_result;  // base64, when tail_logs
  // With kNotFound: the request, handed back untouched so the caller can retry it.
  std::shared_ptr<RouterInvoke> unrouted;
};

using RouterCallback = std::function<void(RouterResult)>;

// The invoke path: resolves the qualifier from the routing snapshot, picks an EE with a free slot
// (power of two choices on outstanding invocations), forwards over pooled keep-alive connections
// to the EE's agent, and retries another EE when an agent refuses. When every EE is full it
// waits at most max_queue_wait, then throttles: never an unbounded queue.
// Thread-safe. *client, *loop, *clock and *random must outlive the router; with no clock or
// random source given it uses the real ones.
class Router {
 public:
  Router(RouterOptions options, AsyncHttpClient* client, EventLoop* loop, std::string agent_token,
         const Clock* clock = nullptr, RandomSource* random = nullptr);

  // Swaps in a new routing table. Slots are matched by environment id so in-flight counts carry
  // over. Thread-safe.
  void publish(RoutingTable table);
  RoutingTablePtr table() const { return std::atomic_load(&table_); }

  // Completes `done` exactly once, possibly on another thread.
  void invoke(RouterInvoke request, RouterCallback done);

  // Slot objects for environment ids, so a fleet manager can build tables that share them.
  RouteSlotPtr slotFor(const std::string& environment_id, const std::string& host, uint16_t port,
                       int max_concurrency);
  // The request counters of a version, kept while some table routes it.
  std::shared_ptr<VersionCounters> countersFor(const std::string& function,
                                               const std::string& version);
  // Cumulative request figures of every version the router counts.
  std::vector<RequestTotals> requestTotals() const;
  // Invocations in flight per EE id, for every EE a table routes.
  std::map<std::string, int> inFlightByEnvironment() const;

 private:
  struct Attempt;
  struct VersionQueue {
    Mutex mu;
    std::deque<std::shared_ptr<Attempt>> waiters GUARDED_BY(mu);
  };

  std::shared_ptr<VersionQueue> queueFor(const std::string& key);
  void dispatch(std::shared_ptr<Attempt> attempt);
  // Counts the outcome in the version's counters, then completes the invocation.
  void finish(Attempt& attempt, RouterResult result);
  void send(std::shared_ptr<Attempt> attempt, RouteSlotPtr slot);
  void onSlotFreed(const std::string& key);
  RouteSlotPtr pick(const VersionRoute& route, const std::vector<std::string>& exclude);

  RouterOptions options_;
  AsyncHttpClient* client_;
  EventLoop* loop_;
  std::string agent_token_;
  RealClock real_clock_;
  SystemRandom system_random_;
  const Clock* clock_;
  RandomSource* random_;
  RoutingTablePtr table_;
  mutable Mutex mu_;
  std::unordered_map<std::string, std::weak_ptr<RouteSlot>> slots_ GUARDED_BY(mu_);
  std::unordered_map<std::string, std::shared_ptr<VersionQueue>> queues_ GUARDED_BY(mu_);
  std::map<std::pair<std::string, std::string>, std::shared_ptr<VersionCounters>> counters_
      GUARDED_BY(mu_);
  std::atomic<uint64_t> next_waiter_{1};
};

// The ARN a runtime reports as invoked: the function's ARN qualified as the caller qualified it
// (an alias, a version, or nothing), given the ARN of the version that runs.
std::string invokedFunctionArn(const std::string& version_arn, const std::string& version,
                               const std::optional<std::string>& qualifier);

// Picks the version an alias routes to given a uniform draw in [0, 1).
std::string pickAliasVersion(const AliasRoute& alias, double draw);

}  // namespace hearth
