#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "common/clock.h"
#include "common/thread_annotations.h"
#include "net/event_loop.h"
#include "net/http.h"
#include "net/http_server.h"
#include "protocol/invoke_protocol.h"

namespace hearth {

// One invocation as the router hands it to an agent.
struct InvokeRequest {
  std::string request_id;
  std::string payload;
  std::string content_type = "application/json";
  int64_t deadline_epoch_ms = 0;  // absolute; also sent to the runtime
  std::string invoked_function_arn;
  std::string client_context;  // JSON, already base64-decoded
  std::string cognito_identity;
  std::string tenant_id;
  bool tail_logs = false;
};

using protocol::InvokeOutcome;

struct InvokeResult {
  InvokeOutcome outcome = InvokeOutcome::kSuccess;
  std::string body;          // response payload, or the error JSON
  std::string content_type;  // of body
  std::string error_type;    // for errors, e.g. "Runtime.ExitError"
  std::string log_tail;      // last 4 KB of the invocation's log lines, when requested
  std::string refusal;       // for kRefused: "concurrency", "starting", "stopped"
};

using InvokeCallback = std::function<void(InvokeResult)>;

enum class EnvironmentState { kStarting, kReady, kInitFailed, kExited };
std::string_view environmentStateName(EnvironmentState state);

// Identity and limits of one EE, fixed at launch.
struct EnvironmentIdentity {
  std::string id;
  std::string function_name;
  std::string version;
  int max_concurrency = 1;
  int timeout_seconds = 3;
  int64_t memory_mb = 2048;  // the function's MemorySize, reported as memorySizeMB
};

// A structured log line produced by or about an invocation.
using LogSink = std::function<void(const EnvironmentIdentity& ee, std::string line)>;

// The platform half of one execution environment: the Runtime API 2018-06-01 state machine and
// the invocation bookkeeping. It enforces the concurrency cap itself — outstanding invocations
// (delivered or queued, not yet answered) never exceed max_concurrency — because a runtime may
// poll /next again before it answers (Node workers do), so parked polls are not a bound.
// Thread-safe; callbacks and responders are invoked without the internal lock held.
// *loop and *clock must outlive this object.
class ExecutionEnvironment : public std::enable_shared_from_this<ExecutionEnvironment> {
 public:
  ExecutionEnvironment(EnvironmentIdentity identity, EventLoop* loop, const Clock* clock,
                       LogSink log_sink);

  const EnvironmentIdentity& identity() const { return identity_; }

  // --- Runtime API (called by the agent's HTTP handler for this EE's listener) ---
  // Routes one Runtime API request; `respond` is completed now or later (a parked /next).
  void handleRuntimeRequest(const HttpRequest& request, Responder respond);

  // --- Router side ---
  // Accepts the invocation if a slot is free and the EE is ready; otherwise completes `done`
  // at once with kRefused. `done` is called exactly once.
  void invoke(InvokeRequest request, InvokeCallback done);

  // --- Process side ---
  void onOutputLine(bool is_stderr, std::string line);
  // The runtime process exited: in-flight invocations fail with Runtime.ExitError, parked polls
  // are dropped, and the EE moves to kExited (or stays kInitFailed).
  void onExit(int exit_code, bool out_of_memory = false);
  // Marks the EE as being stopped: new invocations are refused.
  void stop();
  // Opt-in recycling (off by default, as in LMI, which never kills a timed-out invocation): once
  // an invocation the runtime took has been answered Sandbox.Timedout and is still running
  // `grace` later, `recycle` is called (once, without the lock) so that the EE is replaced.
  void recycleAfterTimeout(std::chrono::milliseconds grace, std::function<void()> recycle);

  EnvironmentState state() const;
  int outstanding() const;
  std::string initErrorType() const;
  std::string initErrorMessage() const;
  // Milliseconds from construction to the first /next (0 until then).
  int64_t initDurationMs() const;
  // Records a resident-memory sample of the runtime; reports carry the maximum seen.
  void recordMemory(int64_t resident_bytes);
  // Marks the EE as over a resource threshold ("cpu" or "memory"; "" clears it). While marked,
  // new invocations are refused with that reason so the router tries another EE.
  void setPressure(std::string reason);

  static constexpr size_t kMaxParkedPolls = 10000;
  static constexpr size_t kLogTailBytes = 4096;
  // With Tail, how long the answer waits for output the runtime wrote just before it: the
  // output pipe and the Runtime API connection are read by different threads.
  static constexpr std::chrono::milliseconds kTailSettle{25};

 private:
  struct Invocation {
    InvokeRequest request;
    InvokeCallback done;
    std::chrono::steady_clock::time_point started;
    std::string log_tail;
    uint64_t timer_id = 0;
    bool delivered = false;
    bool answered = false;  // the caller has been completed (response, error or timeout)
  };

  // An answered Tail invocation waiting kTailSettle for its last output lines.
  struct Settling {
    InvokeCallback done;
    InvokeResult result;
    std::string trailer;  // platform.end and platform.report lines, appended last
  };

  HttpResponse deliverLocked(Invocation& invocation) REQUIRES(mu_);
  void finishSettling(const std::string& request_id);
  void onRuntimeResult(const std::string& request_id, InvokeOutcome outcome, std::string body,
                       std::string content_type, std::string error_type, Responder respond);
  void onDeadline(const std::string& request_id);
  void onRecycleDeadline(const std::string& request_id);
  void appendTail(Invocation& invocation, const std::string& line) REQUIRES(mu_);
  void emitPlatformLine(const std::string& line, Invocation* invocation);
  std::string platformRecord(std::string_view type, const std::string& record_json) const;
  // The platform.report record of one invocation. REQUIRES: mu_ held.
  std::string reportRecordLocked(const std::string& request_id, double duration_ms,
                                 std::string_view status, std::string_view error_type)
      REQUIRES(mu_);

  const EnvironmentIdentity identity_;
  EventLoop* loop_;
  const Clock* clock_;
  LogSink log_sink_;
  const std::chrono::steady_clock::time_point created_;

  mutable Mutex mu_;
  EnvironmentState state_ GUARDED_BY(mu_) = EnvironmentState::kStarting;
  bool stopping_ GUARDED_BY(mu_) = false;
  int64_t init_duration_ms_ GUARDED_BY(mu_) = 0;
  bool init_duration_reported_ GUARDED_BY(mu_) = false;  // the first report carries initDurationMs
  int64_t max_memory_bytes_ GUARDED_BY(mu_) = 0;
  std::chrono::milliseconds recycle_grace_ GUARDED_BY(mu_){0};
  std::function<void()> recycle_ GUARDED_BY(mu_);  // empty: never recycle
  std::string pressure_ GUARDED_BY(mu_);  // non-empty: refuse new invocations for this reason
  std::string init_error_type_ GUARDED_BY(mu_);
  std::string init_error_message_ GUARDED_BY(mu_);
  std::deque<Responder> parked_ GUARDED_BY(mu_);    // /next polls waiting for work
  std::deque<std::string> queued_ GUARDED_BY(mu_);  // accepted, not yet delivered (request ids)
  std::unordered_map<std::string, Invocation> invocations_
      GUARDED_BY(mu_);  // outstanding, by request id
  std::unordered_map<std::string, Settling> settling_
      GUARDED_BY(mu_);  // answered, collecting Tail lines
};

using ExecutionEnvironmentPtr = std::shared_ptr<ExecutionEnvironment>;

}  // namespace hearth
