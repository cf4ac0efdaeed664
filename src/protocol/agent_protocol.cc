#include "protocol/agent_protocol.h"

#include <fmt/format.h>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <limits>

namespace hearth::protocol {
namespace json = boost::json;

namespace {

Result<json::object> parseObject(std::string_view body, std::string_view what) {
  boost::system::error_code ec;
  json::value value = json::parse(body, ec);
  if (ec || !value.is_object()) {
    return invalidParameter(fmt::format("{} must be a JSON object", what));
  }
  return std::move(value.get_object());
}

// Members read without throwing: absent or of another type yields the fallback, a number out of
// [lo, hi] is an error.
std::string stringOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_string() ? std::string(v->get_string()) : std::string();
}

Result<int64_t> intOf(const json::object& o, std::string_view key, int64_t fallback, int64_t lo,
                      int64_t hi) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) {
    return fallback;
  }
  int64_t n = 0;
  if (v->is_int64()) {
    n = v->get_int64();
  } else if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(hi)) {
    n = static_cast<int64_t>(v->get_uint64());
  } else {
    return invalidParameter(fmt::format("{} must be an integer in [{}, {}]", key, lo, hi));
  }
  if (n < lo || n > hi) {
    return invalidParameter(fmt::format("{} must be an integer in [{}, {}]", key, lo, hi));
  }
  return n;
}

std::optional<double> doubleOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) {
    return std::nullopt;
  }
  if (v->is_double()) {
    return v->get_double();
  }
  if (v->is_int64()) {
    return static_cast<double>(v->get_int64());
  }
  if (v->is_uint64()) {
    return static_cast<double>(v->get_uint64());
  }
  return std::nullopt;
}

const json::array* arrayOf(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v != nullptr && v->is_array() ? &v->get_array() : nullptr;
}

// `text` with every byte that is not part of a well-formed UTF-8 sequence replaced by U+FFFD, so
// that a runtime writing binary or cut output cannot make a message unparsable.
std::string wellFormedUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
    unsigned char c = byte(i);
    size_t length = c < 0x80           ? 1
                    : (c >> 5) == 0x6  ? 2
                    : (c >> 4) == 0xE  ? 3
                    : (c >> 3) == 0x1E ? 4
                                       : 0;
    bool ok = length > 0 && i + length <= text.size();
    for (size_t k = 1; ok && k < length; ++k) {
      ok = (byte(i + k) & 0xC0) == 0x80;
    }
    if (ok && length > 1) {
      uint32_t cp = c & (0xFF >> (length + 1));
      for (size_t k = 1; k < length; ++k) {
        cp = (cp << 6) | (byte(i + k) & 0x3F);
      }
      static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
      ok = cp >= kMin[length] && cp <= 0x10FFFF && (cp < 0xD800 || cp > 0xDFFF);
    }
    if (ok) {
      out.append(text.substr(i, length));
      i += length;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

constexpr int64_t kMaxInt = std::numeric_limits<int>::max();
constexpr int64_t kMaxInt64 = std::numeric_limits<int64_t>::max();

}  // namespace

std::string encode(const EnvironmentSpec& spec) {
  json::object env;
  for (const auto& [k, v] : spec.environment) {
    env[k] = v;
  }
  return json::serialize(json::object{{"functionName", spec.function_name},
                                      {"version", spec.version},
                                      {"functionArn", spec.function_arn},
                                      {"runtime", spec.runtime},
                                      {"handler", spec.handler},
                                      {"codeSha256Hex", spec.code_sha256_hex},
                                      {"revisionId", spec.revision_id},
                                      {"memoryMb", spec.memory_mb},
                                      {"ephemeralStorageMb", spec.ephemeral_storage_mb},
                                      {"timeoutSeconds", spec.timeout_seconds},
                                      {"maxConcurrency", spec.max_concurrency},
                                      {"vcpus", spec.vcpus},
                                      {"logGroup", spec.log_group},
                                      {"environment", std::move(env)}});
}

Result<EnvironmentSpec> decodeEnvironmentSpec(std::string_view body) {
  HEARTH_ASSIGN_OR_RETURN(json::object o, parseObject(body, "environment spec"));
  EnvironmentSpec spec;
  spec.function_name = stringOf(o, "functionName");
  spec.version = stringOf(o, "version");
  spec.function_arn = stringOf(o, "functionArn");
  spec.runtime = stringOf(o, "runtime");
  spec.handler = stringOf(o, "handler");
  spec.code_sha256_hex = stringOf(o, "codeSha256Hex");
  spec.revision_id = stringOf(o, "revisionId");
  HEARTH_ASSIGN_OR_RETURN(spec.memory_mb, intOf(o, "memoryMb", 2048, 1, int64_t{1} << 40));
  HEARTH_ASSIGN_OR_RETURN(spec.ephemeral_storage_mb,
                          intOf(o, "ephemeralStorageMb", 512, 512, 10240));
  HEARTH_ASSIGN_OR_RETURN(int64_t timeout, intOf(o, "timeoutSeconds", 3, 1, kMaxInt));
  HEARTH_ASSIGN_OR_RETURN(int64_t concurrency, intOf(o, "maxConcurrency", 1, 1, kMaxInt));
  HEARTH_ASSIGN_OR_RETURN(int64_t vcpus, intOf(o, "vcpus", 1, 1, kMaxInt));
  spec.timeout_seconds = static_cast<int>(timeout);
  spec.max_concurrency = static_cast<int>(concurrency);
  spec.vcpus = static_cast<int>(vcpus);
  spec.log_group = stringOf(o, "logGroup");
  if (const auto* env = o.if_contains("environment"); env && env->is_object()) {
    for (const auto& [k, v] : env->get_object()) {
      if (v.is_string()) {
        spec.environment.emplace(std::string(k), std::string(v.get_string()));
      }
    }
  }
  if (spec.function_name.empty() || spec.runtime.empty() || spec.code_sha256_hex.empty()) {
    return invalidParameter("environment spec misses functionName, runtime or codeSha256Hex");
  }
  return spec;
}

std::string stopTarget(std::string_view environment_id, int64_t drain_ms) {
  return fmt::format("/agent/v1/environments/{}?drainMs={}", environment_id,
                     std::max<int64_t>(0, drain_ms));
}

std::string encode(const Registration& r) {
  return json::serialize(json::object{{"instanceId", r.instance_id},
                                      {"address", fmt::format("{}:{}", r.host, r.port)},
                                      {"zone", r.zone},
                                      {"instanceType", r.instance_type},
                                      {"vcpus", r.vcpus},
                                      {"memoryMiB", r.memory_mib},
                                      {"pid", r.pid}});
}

Result<Registration> decodeRegistration(std::string_view body) {
  HEARTH_ASSIGN_OR_RETURN(json::object o, parseObject(body, "registration"));
  Registration r;
  r.instance_id = stringOf(o, "instanceId");
  std::string address = stringOf(o, "address");
  size_t colon = address.rfind(':');
  if (r.instance_id.empty() || colon == std::string::npos || colon == 0) {
    return invalidParameter("registration needs instanceId and address HOST:PORT");
  }
  r.host = address.substr(0, colon);
  std::string_view port = std::string_view(address).substr(colon + 1);
  int64_t parsed = 0;
  for (char c : port) {
    if (c < '0' || c > '9' || parsed > 65535) {
      return invalidParameter("registration address has a bad port");
    }
    parsed = parsed * 10 + (c - '0');
  }
  if (port.empty() || parsed < 1 || parsed > 65535) {
    return invalidParameter("registration address has a bad port");
  }
  r.port = static_cast<uint16_t>(parsed);
  r.zone = stringOf(o, "zone");
  r.instance_type = stringOf(o, "instanceType");
  HEARTH_ASSIGN_OR_RETURN(int64_t vcpus, intOf(o, "vcpus", 0, 0, kMaxInt));
  r.vcpus = static_cast<int>(vcpus);
  HEARTH_ASSIGN_OR_RETURN(r.memory_mib, intOf(o, "memoryMiB", 0, 0, kMaxInt64));
  HEARTH_ASSIGN_OR_RETURN(r.pid, intOf(o, "pid", 0, 0, kMaxInt64));
  return r;
}

std::string encode(const RegistrationReply& reply) {
  return json::serialize(json::object{{"heartbeatIntervalMs", reply.heartbeat_interval_ms}});
}

Result<RegistrationReply> decodeRegistrationReply(std::string_view body) {
  HEARTH_ASSIGN_OR_RETURN(json::object o, parseObject(body, "registration reply"));
  RegistrationReply reply;
  HEARTH_ASSIGN_OR_RETURN(reply.heartbeat_interval_ms,
                          intOf(o, "heartbeatIntervalMs", 1000, 1, 3600 * 1000));
  return reply;
}

std::string_view phaseName(EnvironmentPhase phase) {
  switch (phase) {
    case EnvironmentPhase::kStarting:
      return "Starting";
    case EnvironmentPhase::kReady:
      return "Ready";
    case EnvironmentPhase::kInitFailed:
      return "InitFailed";
    case EnvironmentPhase::kExited:
      return "Exited";
    case EnvironmentPhase::kDraining:
      return "Draining";
  }
  return "Starting";
}

namespace {
std::optional<EnvironmentPhase> phaseFromName(std::string_view name) {
  for (auto phase :
       {EnvironmentPhase::kStarting, EnvironmentPhase::kReady, EnvironmentPhase::kInitFailed,
        EnvironmentPhase::kExited, EnvironmentPhase::kDraining}) {
    if (phaseName(phase) == name) {
      return phase;
    }
  }
  return std::nullopt;
}
}  // namespace

std::string encode(const Heartbeat& heartbeat) {
  json::array envs;
  envs.reserve(heartbeat.environments.size());
  for (const auto& e : heartbeat.environments) {
    json::object o{{"id", e.id},
                   {"state", phaseName(e.phase)},
                   {"outstanding", e.outstanding},
                   {"maxConcurrency", e.max_concurrency},
                   {"initMs", e.init_ms}};
    if (!e.error_type.empty()) {
      o["errorType"] = e.error_type;
      o["errorMessage"] = e.error_message;
    }
    if (e.resident_bytes) {
      o["residentBytes"] = *e.resident_bytes;
    }
    if (e.cpu_utilization) {
      o["cpuUtilization"] = *e.cpu_utilization;
    }
    if (e.identity) {
      const EnvironmentIdentity& id = *e.identity;
      o["identity"] = json::object{{"functionName", id.function_name},
                                   {"version", id.version},
                                   {"codeSha256Hex", id.code_sha256_hex},
                                   {"revisionId", id.revision_id},
                                   {"vcpus", id.vcpus},
                                   {"memoryMb", id.memory_mb},
                                   {"maxConcurrency", id.max_concurrency},
                                   {"timeoutSeconds", id.timeout_seconds}};
    }
    envs.push_back(std::move(o));
  }
  return json::serialize(
      json::object{{"instanceId", heartbeat.instance_id}, {"environments", std::move(envs)}});
}

Result<Heartbeat> decodeHeartbeat(std::string_view body) {
  HEARTH_ASSIGN_OR_RETURN(json::object o, parseObject(body, "heartbeat"));
  Heartbeat heartbeat;
  heartbeat.instance_id = stringOf(o, "instanceId");
  if (heartbeat.instance_id.empty()) {
    return invalidParameter("heartbeat needs instanceId");
  }
  if (const json::array* envs = arrayOf(o, "environments")) {
    for (const auto& entry : *envs) {
      if (!entry.is_object()) {
        return invalidParameter("heartbeat environments must be objects");
      }
      const auto& e = entry.get_object();
      EnvironmentStatus status;
      status.id = stringOf(e, "id");
      auto phase = phaseFromName(stringOf(e, "state"));
      if (status.id.empty() || !phase) {
        return invalidParameter("heartbeat environment needs id and a known state");
      }
      status.phase = *phase;
      HEARTH_ASSIGN_OR_RETURN(int64_t outstanding, intOf(e, "outstanding", 0, 0, kMaxInt));
      HEARTH_ASSIGN_OR_RETURN(int64_t max, intOf(e, "maxConcurrency", 0, 0, kMaxInt));
      status.outstanding = static_cast<int>(outstanding);
      status.max_concurrency = static_cast<int>(max);
      HEARTH_ASSIGN_OR_RETURN(status.init_ms, intOf(e, "initMs", 0, 0, kMaxInt64));
      status.error_type = stringOf(e, "errorType");
      status.error_message = stringOf(e, "errorMessage");
      if (e.contains("residentBytes")) {
        HEARTH_ASSIGN_OR_RETURN(int64_t rss, intOf(e, "residentBytes", 0, 0, kMaxInt64));
        status.resident_bytes = rss;
      }
      status.cpu_utilization = doubleOf(e, "cpuUtilization");
      if (const auto* idv = e.if_contains("identity"); idv && idv->is_object()) {
        const auto& io = idv->get_object();
        EnvironmentIdentity id;
        id.function_name = stringOf(io, "functionName");
        id.version = stringOf(io, "version");
        id.code_sha256_hex = stringOf(io, "codeSha256Hex");
        id.revision_id = stringOf(io, "revisionId");
        HEARTH_ASSIGN_OR_RETURN(int64_t vcpus, intOf(io, "vcpus", 1, 1, kMaxInt));
        HEARTH_ASSIGN_OR_RETURN(id.memory_mb, intOf(io, "memoryMb", 2048, 1, kMaxInt64));
        HEARTH_ASSIGN_OR_RETURN(int64_t max, intOf(io, "maxConcurrency", 1, 1, kMaxInt));
        HEARTH_ASSIGN_OR_RETURN(int64_t timeout, intOf(io, "timeoutSeconds", 3, 1, kMaxInt));
        id.vcpus = static_cast<int>(vcpus);
        id.max_concurrency = static_cast<int>(max);
        id.timeout_seconds = static_cast<int>(timeout);
        if (id.function_name.empty() || id.version.empty()) {
          return invalidParameter("heartbeat identity needs functionName and version");
        }
        status.identity = std::move(id);
      }
      heartbeat.environments.push_back(std::move(status));
    }
  }
  return heartbeat;
}

std::string encode(const HeartbeatReply& reply) {
  json::array stop;
  for (const auto& id : reply.stop) {
    stop.emplace_back(id);
  }
  return json::serialize(json::object{{"stop", std::move(stop)}});
}

Result<HeartbeatReply> decodeHeartbeatReply(std::string_view body) {
  HEARTH_ASSIGN_OR_RETURN(json::object o, parseObject(body, "heartbeat reply"));
  HeartbeatReply reply;
  if (const json::array* stop = arrayOf(o, "stop")) {
    for (const auto& id : *stop) {
      if (id.is_string()) {
        reply.stop.emplace_back(id.get_string());
      }
    }
  }
  return reply;
}

std::string encode(const LogBatch& batch) {
  json::array lines;
  lines.reserve(batch.lines.size());
  for (const auto& l : batch.lines) {
    lines.push_back(json::object{{"function", l.function},
                                 {"version", l.version},
                                 {"environment", l.environment},
                                 {"line", wellFormedUtf8(l.line)}});
  }
  return json::serialize(json::object{
      {"instanceId", batch.instance_id}, {"dropped", batch.dropped}, {"lines", std::move(lines)}});
}

Result<LogBatch> decodeLogBatch(std::string_view body) {
  HEARTH_ASSIGN_OR_RETURN(json::object o, parseObject(body, "log batch"));
  LogBatch batch;
  batch.instance_id = stringOf(o, "instanceId");
  HEARTH_ASSIGN_OR_RETURN(batch.dropped, intOf(o, "dropped", 0, 0, kMaxInt64));
  if (const json::array* lines = arrayOf(o, "lines")) {
    batch.lines.reserve(lines->size());
    for (const auto& entry : *lines) {
      if (!entry.is_object()) {
        continue;
      }
      const auto& e = entry.get_object();
      batch.lines.push_back(LogLine{stringOf(e, "function"), stringOf(e, "version"),
                                    stringOf(e, "environment"), stringOf(e, "line")});
    }
  }
  return batch;
}

}  // namespace hearth::protocol
