#include "router/router.h"

#include <fmt/format.h>

#include "net/async_http_client.h"
#include "net/event_loop.h"
#include "protocol/agent_protocol.h"

namespace hearth {

namespace {

int64_t epochMs(const Clock& clock) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(clock.wallNow().time_since_epoch())
      .count();
}

RouterResult failure(Status status) {
  RouterResult result;
  result.status = std::move(status);
  return result;
}

Status throttled(int retry_after) {
  Status status(StatusCode::kThrottled, "Rate Exceeded.");
  status.withReason("ConcurrentInvocationLimitExceeded", retry_after);
  return status;
}

}  // namespace

std::string invokedFunctionArn(const std::string& version_arn, const std::string& version,
                               const std::optional<std::string>& qualifier) {
  std::string suffix = ":" + version;
  std::string unqualified = version_arn;
  if (unqualified.size() > suffix.size() &&
      unqualified.compare(unqualified.size() - suffix.size(), suffix.size(), suffix) == 0) {
    unqualified.resize(unqualified.size() - suffix.size());
  }
  return qualifier ? unqualified + ":" + *qualifier : unqualified;
}

std::string pickAliasVersion(const AliasRoute& alias, double draw) {
  if (!alias.additional_version.empty() && draw < alias.additional_weight) {
    return alias.additional_version;
  }
  return alias.primary_version;
}

// One invocation in the router: the resolved version, the EEs that refused it, its deadline for
// waiting on a slot.
struct Router::Attempt {
  RouterInvoke request;
  RouterCallback done;
  RoutingTablePtr table;  // keeps `route` alive
  const VersionRoute* route = nullptr;
  std::string key;          // function + '\0' + version
  std::string invoked_arn;  // the ARN as the caller named it (unqualified, alias or version)
  std::vector<std::string> refused;
  int refusals = 0;
  std::chrono::steady_clock::time_point started;
  std::chrono::steady_clock::time_point wait_deadline;
  uint64_t timer_id = 0;
  bool waiting = false;
};

void Router::finish(Attempt& attempt, RouterResult result) {
  if (const auto& counters = attempt.route->counters) {
    if (result.status.isOk()) {
      counters->recordAnswered(clock_->steadyNow() - attempt.started,
                               result.outcome != protocol::InvokeOutcome::kSuccess);
    } else if (result.status.code() == StatusCode::kThrottled) {
      counters->recordConcurrencyThrottle();
    } else {
      counters->recordFailure();
    }
  }
  attempt.done(std::move(result));
}

Router::Router(RouterOptions options, AsyncHttpClient* client, EventLoop* loop,
               std::string agent_token, const Clock* clock, RandomSource* random)
    : options_(options),
      client_(client),
      loop_(loop),
      agent_token_(std::move(agent_token)),
      clock_(clock != nullptr ? clock : &real_clock_),
      random_(random != nullptr ? random : &system_random_),
      table_(std::make_shared<const RoutingTable>()) {}

void Router::publish(RoutingTable table) {
  auto next = std::make_shared<const RoutingTable>(std::move(table));
  std::atomic_store(&table_, RoutingTablePtr(next));
  // New slots may have appeared: let waiters retry.
  std::vector<std::string> keys;
  {
    MutexLock lock(&mu_);
    for (auto it = slots_.begin(); it != slots_.end();) {
      it = it->second.expired() ? slots_.erase(it) : std::next(it);
    }
    // Counters of versions no table routes any more go once no invocation holds them.
    for (auto it = counters_.begin(); it != counters_.end();) {
      const auto& [function, version] = it->first;
      auto fn = next->functions.find(function);
      bool routed = fn != next->functions.end() && fn->second.versions.contains(version);
      it = !routed && it->second.use_count() == 1 ? counters_.erase(it) : std::next(it);
    }
    for (const auto& [key, queue] : queues_) {
      keys.push_back(key);
    }
  }
  for (const auto& key : keys) {
    onSlotFreed(key);
  }
}

RouteSlotPtr Router::slotFor(const std::string& environment_id, const std::string& host,
                             uint16_t port, int max_concurrency) {
  MutexLock lock(&mu_);
  auto& weak = slots_[environment_id];
  if (auto existing = weak.lock()) {
    return existing;
  }
  auto slot = std::make_shared<RouteSlot>();
  slot->environment_id = environment_id;
  slot->host = host;
  slot->port = port;
  slot->max_concurrency = max_concurrency;
  weak = slot;
  return slot;
}

std::shared_ptr<VersionCounters> Router::countersFor(const std::string& function,
                                                     const std::string& version) {
  MutexLock lock(&mu_);
  auto& counters = counters_[{function, version}];
  if (!counters) {
    counters = std::make_shared<VersionCounters>(function, version);
  }
  return counters;
}

std::vector<RequestTotals> Router::requestTotals() const {
  std::vector<std::shared_ptr<VersionCounters>> all;
  {
    MutexLock lock(&mu_);
    for (const auto& [key, counters] : counters_) {
      all.push_back(counters);
    }
  }
  std::vector<RequestTotals> out;
  out.reserve(all.size());
  for (const auto& counters : all) {
    out.push_back(counters->totals());
  }
  return out;
}

std::map<std::string, int> Router::inFlightByEnvironment() const {
  std::map<std::string, int> out;
  MutexLock lock(&mu_);
  for (const auto& [id, weak] : slots_) {
    if (auto slot = weak.lock()) {
      out[id] = slot->outstanding.load(std::memory_order_relaxed);
    }
  }
  return out;
}

std::shared_ptr<Router::VersionQueue> Router::queueFor(const std::string& key) {
  MutexLock lock(&mu_);
  auto& queue = queues_[key];
  if (!queue) {
    queue = std::make_shared<VersionQueue>();
  }
  return queue;
}

RouteSlotPtr Router::pick(const VersionRoute& route, const std::vector<std::string>& exclude) {
  const auto& slots = route.slots;
  if (slots.empty()) {
    return nullptr;
  }
  auto excluded = [&](const RouteSlotPtr& s) {
    return std::find(exclude.begin(), exclude.end(), s->environment_id) != exclude.end();
  };
  // Power of two choices: the less loaded of two random EEs.
  if (slots.size() >= 2) {
    size_t a = random_->index(slots.size());
    size_t b = random_->index(slots.size());
    if (a == b) {
      b = (a + 1) % slots.size();
    }
    const RouteSlotPtr& first =
        slots[a]->outstanding.load() <= slots[b]->outstanding.load() ? slots[a] : slots[b];
    const RouteSlotPtr& second = &first == &slots[a] ? slots[b] : slots[a];
    for (const RouteSlotPtr* candidate : {&first, &second}) {
      if (!excluded(*candidate) && (*candidate)->tryReserve()) {
        return *candidate;
      }
    }
  }
  // Both were full: any EE with a free slot, from a random start.
  size_t start = random_->index(slots.size());
  for (size_t i = 0; i < slots.size(); ++i) {
    const RouteSlotPtr& slot = slots[(start + i) % slots.size()];
    if (!excluded(slot) && slot->tryReserve()) {
      return slot;
    }
  }
  return nullptr;
}

void Router::invoke(RouterInvoke request, RouterCallback done) {
  RoutingTablePtr table = this->table();
  auto fn = table->functions.find(request.function_name);
  if (fn == table->functions.end()) {
    RouterResult unroutable = failure(Status(StatusCode::kNotFound, "not routable"));
    unroutable.unrouted = std::make_shared<RouterInvoke>(std::move(request));
    done(std::move(unroutable));
    return;
  }
  const FunctionRoute& function = fn->second;
  std::string version;
  if (!request.qualifier) {
    version = function.managed ? "$LATEST.PUBLISHED" : "$LATEST";
  } else if (auto alias = function.aliases.find(*request.qualifier);
             alias != function.aliases.end()) {
    version = pickAliasVersion(alias->second, random_->uniform());
  } else {
    version = *request.qualifier;
  }
  auto route = function.versions.find(version);
  if (route == function.versions.end()) {
    RouterResult unroutable = failure(Status(StatusCode::kNotFound, "not routable"));
    unroutable.unrouted = std::make_shared<RouterInvoke>(std::move(request));
    done(std::move(unroutable));
    return;
  }
  auto attempt = std::make_shared<Attempt>();
  attempt->request = std::move(request);
  attempt->done = std::move(done);
  attempt->table = table;
  attempt->route = &route->second;
  attempt->key = route->second.function_name + '\0' + version;
  attempt->invoked_arn =
      invokedFunctionArn(route->second.function_arn, version, attempt->request.qualifier);
  attempt->started = clock_->steadyNow();
  attempt->wait_deadline = attempt->started + options_.max_queue_wait;
  dispatch(attempt);
}

void Router::dispatch(std::shared_ptr<Attempt> attempt) {
  // Re-resolve against the newest table: slots may have been added or removed.
  RoutingTablePtr table = this->table();
  if (table != attempt->table) {
    auto fn = table->functions.find(attempt->route->function_name);
    if (fn != table->functions.end()) {
      auto route = fn->second.versions.find(attempt->route->version);
      if (route != fn->second.versions.end()) {
        attempt->table = table;
        attempt->route = &route->second;
      }
    }
  }
  if (RouteSlotPtr slot = pick(*attempt->route, attempt->refused)) {
    send(attempt, slot);
    return;
  }
  auto now = clock_->steadyNow();
  auto queue = queueFor(attempt->key);
  {
    MutexLock lock(&queue->mu);
    if (now < attempt->wait_deadline && queue->waiters.size() < options_.max_waiters_per_version &&
        !attempt->route->slots.empty()) {
      attempt->waiting = true;
      queue->waiters.push_back(attempt);
      auto remaining =
          std::chrono::duration_cast<std::chrono::milliseconds>(attempt->wait_deadline - now);
      std::weak_ptr<VersionQueue> weak_queue = queue;
      std::weak_ptr<Attempt> weak_attempt = attempt;
      attempt->timer_id = loop_->runAfter(remaining, [this, weak_queue, weak_attempt] {
        auto q = weak_queue.lock();
        auto a = weak_attempt.lock();
        if (!q || !a) {
          return;
        }
        {
          MutexLock lock(&q->mu);
          auto it = std::find(q->waiters.begin(), q->waiters.end(), a);
          if (it == q->waiters.end()) {
            return;  // already dispatched
          }
          q->waiters.erase(it);
          a->waiting = false;
        }
        finish(*a, failure(throttled(options_.retry_after_seconds)));
      });
      return;
    }
  }
  finish(*attempt, failure(throttled(options_.retry_after_seconds)));
}

void Router::onSlotFreed(const std::string& key) {
  std::shared_ptr<VersionQueue> queue;
  {
    MutexLock lock(&mu_);
    auto it = queues_.find(key);
    if (it == queues_.end()) {
      return;
    }
    queue = it->second;
  }
  std::shared_ptr<Attempt> next;
  {
    MutexLock lock(&queue->mu);
    if (queue->waiters.empty()) {
      return;
    }
    next = queue->waiters.front();
    queue->waiters.pop_front();
    next->waiting = false;
  }
  loop_->cancel(next->timer_id);
  dispatch(next);
}

void Router::send(std::shared_ptr<Attempt> attempt, RouteSlotPtr slot) {
  const VersionRoute& route = *attempt->route;
  HttpRequest request;
  request.method = "POST";
  request.target = "/agent/v1/environments/" + slot->environment_id + "/invoke";
  request.headers.reserve(8);
  request.headers.emplace_back(std::string(protocol::kTokenHeader), agent_token_);
  protocol::InvokeHeaders invoke;
  invoke.request_id = attempt->request.request_id;
  invoke.deadline_epoch_ms = epochMs(*clock_) + int64_t{route.timeout_seconds} * 1000;
  invoke.invoked_function_arn = attempt->invoked_arn;
  invoke.content_type = attempt->request.content_type;
  invoke.client_context = attempt->request.client_context;
  invoke.tail_logs = attempt->request.tail_logs;
  protocol::encodeInvoke(invoke, request.headers);
  request.body = attempt->request.payload;  // kept for a retry on refusal
  auto timeout = std::chrono::seconds(route.timeout_seconds + 10);
  client_->send(
      slot->host, slot->port, std::move(request), timeout,
      [this, attempt, slot](Result<HttpResponse> response) {
        slot->release();
        onSlotFreed(attempt->key);
        if (!response.isOk()) {
          if (response.status().code() == StatusCode::kUnavailable &&
              attempt->refusals < options_.max_refusal_retries) {
            // The agent is unreachable (it may have just died): try another EE.
            ++attempt->refusals;
            attempt->refused.push_back(slot->environment_id);
            slot->draining = true;
            dispatch(attempt);
            return;
          }
          if (response.status().code() == StatusCode::kInternal) {
            // Lost after delivery (the agent died mid-invocation): it may have run,
            // so it is not retried. AWS reports a sandbox that died this way as a
            // function error.
            slot->draining = true;
            RouterResult lost;
            lost.executed_version = attempt->route->version;
            lost.outcome = protocol::InvokeOutcome::kRuntimeExit;
            lost.error_type = "Runtime.ExitError";
            lost.content_type = "application/json";
            lost.body =
                fmt::format(R"({{"errorType":"Runtime.ExitError","errorMessage":"RequestId: {} )"
                            R"(Error: the execution environment exited during the invocation"}})",
                            attempt->request.request_id);
            finish(*attempt, std::move(lost));
            return;
          }
          finish(*attempt,
                 failure(Status(StatusCode::kUnavailable,
                                "The execution environment failed to process the invocation: " +
                                    response.status().message())));
          return;
        }
        if (response->status == 429) {
          if (attempt->refusals < options_.max_refusal_retries) {
            ++attempt->refusals;
            attempt->refused.push_back(slot->environment_id);
            dispatch(attempt);
            return;
          }
          finish(*attempt, failure(throttled(options_.retry_after_seconds)));
          return;
        }
        auto answer = protocol::decodeAnswer(*response);
        if (!answer.isOk()) {
          finish(*attempt,
                 failure(Status(StatusCode::kUnavailable,
                                fmt::format("agent answered HTTP {}", response->status))));
          return;
        }
        RouterResult result;
        result.executed_version = attempt->route->version;
        result.outcome = answer->outcome;
        result.error_type = std::move(answer->error_type);
        result.log_result = std::move(answer->log_result);
        result.content_type = std::move(answer->content_type);
        result.body = std::move(response->body);
        finish(*attempt, std::move(result));
      });
}

}  // namespace hearth
