#include "agent/execution_environment.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <cmath>

namespace hearth {
namespace json = boost::json;

namespace {

constexpr std::string_view kRuntimePrefix = "/2018-06-01/runtime/";

HttpResponse runtimeReply(int status, std::string_view error_type, std::string_view message) {
  HttpResponse response;
  response.status = status;
  response.set("Content-Type", "application/json");
  if (error_type.empty()) {
    response.body = R"({"status":"OK"})";
  } else {
    response.body =
        json::serialize(json::object{{"errorMessage", message}, {"errorType", error_type}});
  }
  return response;
}

std::string isoNow(const Clock& clock) {
  return formatIso8601(clock.wallNow());
}

// Extracts "requestId" from a JSON log line without a full parse when possible.
std::string requestIdOf(const std::string& line) {
  static constexpr std::string_view kKey = "\"requestId\":\"";
  size_t at = line.find(kKey);
  if (at == std::string::npos) {
    return "";
  }
  size_t start = at + kKey.size();
  size_t end = line.find('"', start);
  return end == std::string::npos ? "" : line.substr(start, end - start);
}

}  // namespace

std::string_view environmentStateName(EnvironmentState state) {
  switch (state) {
    case EnvironmentState::kStarting:
      return "Starting";
    case EnvironmentState::kReady:
      return "Ready";
    case EnvironmentState::kInitFailed:
      return "InitFailed";
    case EnvironmentState::kExited:
      return "Exited";
  }
  return "Unknown";
}

ExecutionEnvironment::ExecutionEnvironment(EnvironmentIdentity identity, EventLoop* loop,
                                           const Clock* clock, LogSink log_sink)
    : identity_(std::move(identity)),
      loop_(loop),
      clock_(clock),
      log_sink_(std::move(log_sink)),
      created_(clock->steadyNow()) {}

EnvironmentState ExecutionEnvironment::state() const {
  MutexLock lock(&mu_);
  return state_;
}

int ExecutionEnvironment::outstanding() const {
  MutexLock lock(&mu_);
  return static_cast<int>(invocations_.size());
}

std::string ExecutionEnvironment::initErrorType() const {
  MutexLock lock(&mu_);
  return init_error_type_;
}

std::string ExecutionEnvironment::initErrorMessage() const {
  MutexLock lock(&mu_);
  return init_error_message_;
}

int64_t ExecutionEnvironment::initDurationMs() const {
  MutexLock lock(&mu_);
  return init_duration_ms_;
}

void ExecutionEnvironment::recordMemory(int64_t resident_bytes) {
  MutexLock lock(&mu_);
  max_memory_bytes_ = std::max(max_memory_bytes_, resident_bytes);
}

void ExecutionEnvironment::setPressure(std::string reason) {
  MutexLock lock(&mu_);
  pressure_ = std::move(reason);
}

void ExecutionEnvironment::stop() {
  MutexLock lock(&mu_);
  stopping_ = true;
}

std::string ExecutionEnvironment::platformRecord(std::string_view type,
                                                 const std::string& record_json) const {
  return fmt::format(R"({{"time":"{}","type":"{}","record":{}}})", isoNow(*clock_), type,
                     record_json);
}

std::string ExecutionEnvironment::reportRecordLocked(const std::string& request_id,
                                                     double duration_ms, std::string_view status,
                                                     std::string_view error_type) {
  // The report prints the duration to the microsecond; the billed figure rounds that printed
  // value up, so a reader can always derive one from the other.
  const int64_t duration_us = std::llround(std::max(duration_ms, 0.0) * 1000.0);
  std::string metrics = fmt::format(
      R"("durationMs":{}.{:03},"billedDurationMs":{},"memorySizeMB":{},"maxMemoryUsedMB":{})",
      duration_us / 1000, duration_us % 1000, (duration_us + 999) / 1000, identity_.memory_mb,
      max_memory_bytes_ / (1024 * 1024));
  if (!init_duration_reported_ && init_duration_ms_ > 0) {
    init_duration_reported_ = true;
    metrics += fmt::format(R"(,"initDurationMs":{:.3f})", static_cast<double>(init_duration_ms_));
  }
  std::string record = fmt::format(R"({{"requestId":"{}","metrics":{{{}}},"status":"{}")",
                                   request_id, metrics, status);
  if (!error_type.empty()) {
    record += fmt::format(R"(,"errorType":{})", json::serialize(json::string(error_type)));
  }
  record += '}';
  return platformRecord("platform.report", record);
}

void ExecutionEnvironment::appendTail(Invocation& invocation, const std::string& line) {
  if (!invocation.request.tail_logs) {
    return;
  }
  invocation.log_tail += line;
  invocation.log_tail += '\n';
  if (invocation.log_tail.size() > kLogTailBytes) {
    invocation.log_tail.erase(0, invocation.log_tail.size() - kLogTailBytes);
  }
}

HttpResponse ExecutionEnvironment::deliverLocked(Invocation& invocation) {
  invocation.delivered = true;
  const InvokeRequest& r = invocation.request;
  HttpResponse response;
  response.status = 200;
  response.set("Lambda-Runtime-Aws-Request-Id", r.request_id);
  response.set("Lambda-Runtime-Deadline-Ms", std::to_string(r.deadline_epoch_ms));
  response.set("Lambda-Runtime-Invoked-Function-Arn", r.invoked_function_arn);
  if (!r.client_context.empty()) {
    response.set("Lambda-Runtime-Client-Context", r.client_context);
  }
  if (!r.cognito_identity.empty()) {
    response.set("Lambda-Runtime-Cognito-Identity", r.cognito_identity);
  }
  if (!r.tenant_id.empty()) {
    response.set("Lambda-Runtime-Aws-Tenant-Id", r.tenant_id);
  }
  response.set("Content-Type", r.content_type.empty() ? "application/json" : r.content_type);
  response.body = r.payload;
  return response;
}

void ExecutionEnvironment::handleRuntimeRequest(const HttpRequest& request, Responder respond) {
  std::string_view target = request.target;
  target = target.substr(0, target.find('?'));
  if (target.substr(0, kRuntimePrefix.size()) != kRuntimePrefix) {
    respond(runtimeReply(404, "InvalidRequest", "Unknown Runtime API path"));
    return;
  }
  std::string_view rest = target.substr(kRuntimePrefix.size());
  if (rest == "invocation/next" && request.method == "GET") {
    std::optional<HttpResponse> delivery;
    {
      MutexLock lock(&mu_);
      if (state_ == EnvironmentState::kStarting) {
        state_ = EnvironmentState::kReady;
        init_duration_ms_ =
            std::chrono::duration_cast<std::chrono::milliseconds>(clock_->steadyNow() - created_)
                .count();
      }
      if (state_ != EnvironmentState::kReady) {
        delivery = runtimeReply(403, "Runtime.InvalidState",
                                "The environment is not accepting invocations.");
      } else if (!queued_.empty()) {
        std::string id = queued_.front();
        queued_.pop_front();
        delivery = deliverLocked(invocations_.at(id));
      } else if (parked_.size() >= kMaxParkedPolls) {
        delivery =
            runtimeReply(500, "Runtime.TooManyIdleRuntimes", "Too many concurrent /next requests.");
      } else {
        parked_.push_back(std::move(respond));
        return;
      }
    }
    respond(std::move(*delivery));
    return;
  }
  if (rest == "init/error" && request.method == "POST") {
    {
      MutexLock lock(&mu_);
      const std::string* type = request.header("Lambda-Runtime-Function-Error-Type");
      std::string message = request.body;
      boost::system::error_code ec;
      json::value parsed = json::parse(request.body, ec);
      if (!ec && parsed.is_object()) {
        if (const auto* m = parsed.get_object().if_contains("errorMessage"); m && m->is_string()) {
          message = std::string(m->get_string());
        }
        if (type == nullptr) {
          if (const auto* t = parsed.get_object().if_contains("errorType"); t && t->is_string()) {
            init_error_type_ = std::string(t->get_string());
          }
        }
      }
      if (state_ == EnvironmentState::kStarting) {
        state_ = EnvironmentState::kInitFailed;
        if (type != nullptr) {
          init_error_type_ = *type;
        }
        if (init_error_type_.empty()) {
          init_error_type_ = "Runtime.Unknown";
        }
        init_error_message_ = message.substr(0, 4096);
      } else {
        respond(runtimeReply(403, "Runtime.InvalidStateTransition",
                             "init/error was already reported or init has completed"));
        return;
      }
    }
    respond(runtimeReply(202, "", ""));
    return;
  }
  // invocation/{id}/response | invocation/{id}/error
  constexpr std::string_view kInvocation = "invocation/";
  if (request.method == "POST" && rest.substr(0, kInvocation.size()) == kInvocation) {
    std::string_view tail = rest.substr(kInvocation.size());
    size_t slash = tail.find('/');
    if (slash != std::string_view::npos) {
      std::string id(tail.substr(0, slash));
      std::string_view verb = tail.substr(slash + 1);
      if (verb == "response") {
        const std::string* mode = request.header("Lambda-Runtime-Function-Response-Mode");
        if (mode != nullptr && *mode != "streaming") {
          respond(runtimeReply(400, "Runtime.InvalidResponseModeHeader",
                               "Invalid Lambda-Runtime-Function-Response-Mode"));
          return;
        }
        const std::string* content_type = request.header("Content-Type");
        onRuntimeResult(id, InvokeOutcome::kSuccess, request.body,
                        content_type ? *content_type : "application/json", "", std::move(respond));
        return;
      }
      if (verb == "error") {
        std::string error_type;
        if (const std::string* t = request.header("Lambda-Runtime-Function-Error-Type")) {
          error_type = *t;
        }
        std::string body = request.body;
        boost::system::error_code ec;
        json::value parsed = json::parse(body, ec);
        if (ec || !parsed.is_object()) {
          body = json::serialize(
              json::object{{"errorMessage", request.body},
                           {"errorType", error_type.empty() ? "Unhandled" : error_type}});
        } else if (error_type.empty()) {
          if (const auto* t = parsed.get_object().if_contains("errorType"); t && t->is_string()) {
            error_type = std::string(t->get_string());
          }
        }
        onRuntimeResult(id, InvokeOutcome::kFunctionError, std::move(body), "application/json",
                        error_type.empty() ? "Unhandled" : error_type, std::move(respond));
        return;
      }
    }
  }
  respond(runtimeReply(404, "InvalidRequest", "Unknown Runtime API path"));
}

void ExecutionEnvironment::invoke(InvokeRequest request, InvokeCallback done) {
  std::optional<HttpResponse> delivery;
  Responder poll;
  std::string start_line;
  MutexLock lock(&mu_);
  const char* refusal = nullptr;
  if (stopping_ || state_ == EnvironmentState::kExited || state_ == EnvironmentState::kInitFailed) {
    refusal = "stopped";
  } else if (state_ != EnvironmentState::kReady) {
    refusal = "starting";
  } else if (static_cast<int>(invocations_.size()) >= identity_.max_concurrency) {
    refusal = "concurrency";
  } else if (!pressure_.empty() && !invocations_.empty()) {
    refusal = pressure_ == "memory" ? "memory" : "cpu";  // an idle EE still takes work
  } else if (invocations_.contains(request.request_id)) {
    refusal = "duplicate";
  }
  if (refusal != nullptr) {
    lock.unlock();
    InvokeResult result;
    result.outcome = InvokeOutcome::kRefused;
    result.refusal = refusal;
    done(std::move(result));
    return;
  }
  std::string id = request.request_id;
  int64_t now_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(clock_->wallNow().time_since_epoch())
          .count();
  auto delay = std::chrono::milliseconds(std::max<int64_t>(0, request.deadline_epoch_ms - now_ms));
  Invocation& invocation = invocations_[id];
  invocation.request = std::move(request);
  invocation.done = std::move(done);
  invocation.started = clock_->steadyNow();
  std::weak_ptr<ExecutionEnvironment> weak = weak_from_this();
  invocation.timer_id = loop_->runAfter(delay, [weak, id] {
    if (auto self = weak.lock()) {
      self->onDeadline(id);
    }
  });
  start_line =
      platformRecord("platform.start",
                     fmt::format(R"({{"requestId":"{}","version":"{}"}})", id, identity_.version));
  appendTail(invocation, start_line);
  if (!parked_.empty()) {
    poll = std::move(parked_.front());
    parked_.pop_front();
    delivery = deliverLocked(invocation);
  } else {
    queued_.push_back(id);
  }
  lock.unlock();
  log_sink_(identity_, start_line);
  if (delivery) {
    poll(std::move(*delivery));
  }
}

void ExecutionEnvironment::onRuntimeResult(const std::string& request_id, InvokeOutcome outcome,
                                           std::string body, std::string content_type,
                                           std::string error_type, Responder respond) {
  InvokeCallback done;
  InvokeResult result;
  std::string end_line;
  std::string report_line;
  bool defer = false;
  {
    MutexLock lock(&mu_);
    auto it = invocations_.find(request_id);
    if (it == invocations_.end() || !it->second.delivered) {
      respond(runtimeReply(400, "Runtime.InvalidInvokeId",
                           "Invalid request ID: the invocation is unknown or already complete"));
      return;
    }
    Invocation invocation = std::move(it->second);
    invocations_.erase(it);
    loop_->cancel(invocation.timer_id);
    double duration_ms =
        std::chrono::duration<double, std::milli>(clock_->steadyNow() - invocation.started).count();
    end_line = platformRecord("platform.end", fmt::format(R"({{"requestId":"{}"}})", request_id));
    report_line = reportRecordLocked(
        request_id, duration_ms, outcome == InvokeOutcome::kSuccess ? "success" : "error",
        outcome == InvokeOutcome::kSuccess ? "" : std::string_view(error_type));
    if (!invocation.answered) {
      defer = invocation.request.tail_logs;
      if (!defer) {
        appendTail(invocation, end_line);
        appendTail(invocation, report_line);
      }
      done = std::move(invocation.done);
      result.outcome = outcome;
      result.body = std::move(body);
      result.content_type = std::move(content_type);
      result.error_type = std::move(error_type);
      result.log_tail = std::move(invocation.log_tail);
      if (defer) {
        // Lines the runtime printed just before it answered may still be in the output pipe
        // (read by another thread): keep collecting them for a moment before answering.
        Settling& settling = settling_[request_id];
        settling.done = std::move(done);
        settling.result = std::move(result);
        done = nullptr;
        settling.trailer = end_line + '\n' + report_line + '\n';
        std::weak_ptr<ExecutionEnvironment> weak = weak_from_this();
        loop_->runAfter(kTailSettle, [weak, request_id] {
          if (auto self = weak.lock()) {
            self->finishSettling(request_id);
          }
        });
      }
    }
  }
  respond(runtimeReply(202, "", ""));
  log_sink_(identity_, end_line);
  log_sink_(identity_, report_line);
  if (done) {                 // null when the answer was handed to settling_ (and `result` with it)
    done(std::move(result));  // NOLINT(bugprone-use-after-move)
  }
}

void ExecutionEnvironment::finishSettling(const std::string& request_id) {
  Settling settling;
  {
    MutexLock lock(&mu_);
    auto it = settling_.find(request_id);
    if (it == settling_.end()) {
      return;
    }
    settling = std::move(it->second);
    settling_.erase(it);
  }
  std::string& tail = settling.result.log_tail;
  tail += settling.trailer;
  if (tail.size() > kLogTailBytes) {
    tail.erase(0, tail.size() - kLogTailBytes);
  }
  settling.done(std::move(settling.result));
}

void ExecutionEnvironment::onDeadline(const std::string& request_id) {
  InvokeCallback done;
  InvokeResult result;
  std::string line;
  {
    MutexLock lock(&mu_);
    auto it = invocations_.find(request_id);
    if (it == invocations_.end() || it->second.answered) {
      return;
    }
    Invocation& invocation = it->second;
    invocation.answered = true;
    std::string message = fmt::format("{} {} Task timed out after {}.00 seconds", isoNow(*clock_),
                                      request_id, identity_.timeout_seconds);
    double duration_ms =
        std::chrono::duration<double, std::milli>(clock_->steadyNow() - invocation.started).count();
    line = reportRecordLocked(request_id, duration_ms, "timeout", "Sandbox.Timedout");
    appendTail(invocation, line);
    result.outcome = InvokeOutcome::kTimeout;
    result.error_type = "Sandbox.Timedout";
    result.content_type = "application/json";
    result.body =
        json::serialize(json::object{{"errorMessage", message}, {"errorType", "Sandbox.Timedout"}});
    result.log_tail = invocation.log_tail;
    done = std::move(invocation.done);
    if (!invocation.delivered) {
      // Never reached the runtime: free its slot now.
      std::erase(queued_, request_id);
      invocations_.erase(it);
    } else if (recycle_) {
      std::weak_ptr<ExecutionEnvironment> weak = weak_from_this();
      invocation.timer_id = loop_->runAfter(recycle_grace_, [weak, request_id] {
        if (auto self = weak.lock()) {
          self->onRecycleDeadline(request_id);
        }
      });
    }
    // A delivered invocation keeps its slot: the runtime is still running it (LMI does not kill
    // timed-out invocations), and the cap counts what the runtime is really doing.
  }
  log_sink_(identity_, line);
  done(std::move(result));
}

void ExecutionEnvironment::recycleAfterTimeout(std::chrono::milliseconds grace,
                                               std::function<void()> recycle) {
  MutexLock lock(&mu_);
  recycle_grace_ = grace;
  recycle_ = std::move(recycle);
}

void ExecutionEnvironment::onRecycleDeadline(const std::string& request_id) {
  std::function<void()> recycle;
  {
    MutexLock lock(&mu_);
    if (!invocations_.contains(request_id) || !recycle_) {
      return;  // the runtime finished it within the grace period
    }
    recycle = std::move(recycle_);  // once
    recycle_ = nullptr;
    stopping_ = true;  // no new invocations while it is replaced
  }
  recycle();
}

void ExecutionEnvironment::onOutputLine(bool is_stderr, std::string line) {
  if (line.empty()) {
    return;
  }
  if (line.front() != '{') {
    json::object wrapped{
        {"timestamp", isoNow(*clock_)}, {"level", is_stderr ? "ERROR" : "INFO"}, {"message", line}};
    line = json::serialize(wrapped);
  }
  {
    MutexLock lock(&mu_);
    std::string id = requestIdOf(line);
    if (id.empty() && invocations_.size() == 1) {
      appendTail(invocations_.begin()->second, line);
    } else if (id.empty() && invocations_.empty() && settling_.size() == 1) {
      // Plain output with one invocation just answered: it is that invocation's.
      id = settling_.begin()->first;
    }
    if (!id.empty()) {
      auto it = invocations_.find(id);
      if (it != invocations_.end()) {
        appendTail(it->second, line);
      } else if (auto settling = settling_.find(id); settling != settling_.end()) {
        std::string& tail = settling->second.result.log_tail;
        tail += line;
        tail += '\n';
        if (tail.size() > kLogTailBytes) {
          tail.erase(0, tail.size() - kLogTailBytes);
        }
      }
    }
  }
  log_sink_(identity_, std::move(line));
}

void ExecutionEnvironment::onExit(int exit_code, bool out_of_memory) {
  // As AWS reports them: a memory-limit kill is Runtime.OutOfMemory, any other exit
  // Runtime.ExitError.
  const char* error_type = out_of_memory ? "Runtime.OutOfMemory" : "Runtime.ExitError";
  std::string cause = out_of_memory || exit_code == 128 + 9
                          ? std::string("signal: killed")
                          : fmt::format("exit status {}", exit_code);
  std::vector<std::pair<InvokeCallback, InvokeResult>> failed;
  std::deque<Responder> polls;
  {
    MutexLock lock(&mu_);
    if (state_ != EnvironmentState::kInitFailed) {
      if (state_ == EnvironmentState::kStarting) {
        state_ = EnvironmentState::kInitFailed;
        init_error_type_ = error_type;
        init_error_message_ = fmt::format("Runtime exited during init with error: {}", cause);
      } else {
        state_ = EnvironmentState::kExited;
      }
    }
    for (auto& [id, invocation] : invocations_) {
      loop_->cancel(invocation.timer_id);
      if (invocation.answered) {
        continue;
      }
      InvokeResult result;
      result.outcome = InvokeOutcome::kRuntimeExit;
      result.error_type = error_type;
      result.content_type = "application/json";
      result.body = json::serialize(json::object{
          {"errorType", error_type},
          {"errorMessage",
           fmt::format("RequestId: {} Error: Runtime exited with error: {}", id, cause)}});
      result.log_tail = invocation.log_tail;
      failed.emplace_back(std::move(invocation.done), std::move(result));
    }
    invocations_.clear();
    queued_.clear();
    polls.swap(parked_);
  }
  for (auto& poll : polls) {
    poll(runtimeReply(410, "Runtime.Exited", "The environment has exited."));
  }
  for (auto& [done, result] : failed) {
    done(std::move(result));
  }
}

}  // namespace hearth
