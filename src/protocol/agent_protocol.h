#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace hearth::protocol {

// The typed messages between the server (fleet), routers and agents, and their one codec. Every
// message is JSON on the wire; nothing outside this file builds or reads that JSON.

// --- server → agent: PUT /agent/v1/environments/{id} -------------------------------------
struct EnvironmentSpec {
  std::string function_name;
  std::string version;
  std::string function_arn;  // qualified with the version
  std::string runtime;
  std::string handler;
  std::string code_sha256_hex;
  std::string revision_id;  // with the code sha: the deployment the EE runs
  int64_t memory_mb = 2048;
  int64_t ephemeral_storage_mb = 512;  // the EE's /tmp
  int timeout_seconds = 3;
  int max_concurrency = 1;
  int vcpus = 1;
  std::string log_group;
  std::map<std::string, std::string> environment;

  bool operator==(const EnvironmentSpec&) const = default;
};
std::string encode(const EnvironmentSpec& spec);
// kInvalidParameter when a required member (functionName, runtime, codeSha256Hex) is missing or a
// number is out of range.
Result<EnvironmentSpec> decodeEnvironmentSpec(std::string_view body);

// DELETE /agent/v1/environments/{id}?drainMs=N: the agent refuses new invocations at once,
// lets outstanding ones finish for at most N ms, then stops the runtime. N = 0 stops at once.
std::string stopTarget(std::string_view environment_id, int64_t drain_ms);

// --- agent → server: POST /_hearth/agent/v1/register -------------------------------------
struct Registration {
  std::string instance_id;
  std::string host;  // where routers and the server reach the agent
  uint16_t port = 0;
  std::string zone;
  std::string instance_type;
  int vcpus = 0;
  int64_t memory_mib = 0;
  int64_t pid = 0;

  bool operator==(const Registration&) const = default;
};
std::string encode(const Registration& registration);
Result<Registration> decodeRegistration(std::string_view body);

struct RegistrationReply {
  int64_t heartbeat_interval_ms = 1000;
  bool operator==(const RegistrationReply&) const = default;
};
std::string encode(const RegistrationReply& reply);
Result<RegistrationReply> decodeRegistrationReply(std::string_view body);

// --- agent → server: POST /_hearth/agent/v1/heartbeat ------------------------------------
enum class EnvironmentPhase { kStarting, kReady, kInitFailed, kExited, kDraining };
std::string_view phaseName(EnvironmentPhase phase);

// What an EE runs, echoed from its spec in every heartbeat, so that a restarted server can adopt
// the EEs of agents that outlived it.
struct EnvironmentIdentity {
  std::string function_name;
  std::string version;
  std::string code_sha256_hex;
  std::string revision_id;
  int vcpus = 1;
  int64_t memory_mb = 2048;
  int max_concurrency = 1;
  int timeout_seconds = 3;
  bool operator==(const EnvironmentIdentity&) const = default;
};

struct EnvironmentStatus {
  std::string id;
  EnvironmentPhase phase = EnvironmentPhase::kStarting;
  int outstanding = 0;
  int max_concurrency = 0;
  int64_t init_ms = 0;
  std::string error_type;  // init or launch failure
  std::string error_message;
  std::optional<int64_t> resident_bytes;  // sampled; absent between samples
  std::optional<double> cpu_utilization;  // of the EE's vCPUs over the last sample interval
  std::optional<EnvironmentIdentity> identity;

  bool operator==(const EnvironmentStatus&) const = default;
};

struct Heartbeat {
  std::string instance_id;
  std::vector<EnvironmentStatus> environments;
  bool operator==(const Heartbeat&) const = default;
};
std::string encode(const Heartbeat& heartbeat);
Result<Heartbeat> decodeHeartbeat(std::string_view body);

// The server's answer: environments it does not know (the agent stops them).
struct HeartbeatReply {
  std::vector<std::string> stop;
  bool operator==(const HeartbeatReply&) const = default;
};
std::string encode(const HeartbeatReply& reply);
Result<HeartbeatReply> decodeHeartbeatReply(std::string_view body);

// --- agent → server: POST /_hearth/agent/v1/logs -----------------------------------------
struct LogLine {
  std::string function;
  std::string version;
  std::string environment;
  std::string line;
  bool operator==(const LogLine&) const = default;
};
struct LogBatch {
  std::string instance_id;
  int64_t dropped = 0;  // lines the agent had to drop since the last batch
  std::vector<LogLine> lines;
  bool operator==(const LogBatch&) const = default;
};
// Bytes of a line that are not well-formed UTF-8 are sent as U+FFFD.
std::string encode(const LogBatch& batch);
Result<LogBatch> decodeLogBatch(std::string_view body);

// Header carrying the agent protocol secret on every request.
inline constexpr std::string_view kTokenHeader = "X-Hearth-Agent-Token";

}  // namespace hearth::protocol
