# Helpers for the real-process integration tests. Sourced by *_test.sh.
set -euo pipefail

HEARTH_BIN="${1:?usage: $0 PATH_TO_HEARTH}"
WORK="$(mktemp -d)"
PASSED=0
FAILED=0
SERVER_PID=""
SERVER_PORTS=()

# Agents outlive their server (a restarted one adopts them), so tests stop them themselves.
kill_agents() {
  local port
  for port in "${SERVER_PORTS[@]}"; do
    pkill -KILL -f "hearth agent --server http://127\.0\.0\.1:$port( |\$)" 2>/dev/null || true
  done
}

cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  kill_agents
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# The host's interpreters for Lambda's runtimes where it lacks their versions.
mapfile -t RUNTIME_SUBSTITUTES < <("$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/runtime-substitutes")

# start_server LISTEN DATA_DIR [extra args...]: starts hearth up and waits for /healthz.
start_server() {
  local listen="$1" data="$2"; shift 2
  "$HEARTH_BIN" up --listen "$listen" --data-dir "$data" "${RUNTIME_SUBSTITUTES[@]}" "$@" \
    >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  local port="${listen##*:}"
  SERVER_PORTS+=("$port")
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "server did not become healthy:" >&2
  cat "$WORK/server.log" >&2
  return 1
}

stop_server() {
  kill -TERM "$SERVER_PID"
  wait "$SERVER_PID" || true
  SERVER_PID=""
}

record() {
  local name="$1" ok="$2"
  if [ "$ok" = yes ]; then
    PASSED=$((PASSED + 1))
  else
    FAILED=$((FAILED + 1))
    echo "FAIL: $name" >&2
    sed 's/^/    /' "$WORK/check.out" >&2
  fi
}

# check NAME CMD...: CMD succeeds.
check() {
  local name="$1"; shift
  local rc=0
  "$@" >"$WORK/check.out" 2>&1 || rc=$?
  record "$name" "$([ $rc -eq 0 ] && echo yes || echo no)"
}

# expect_output NAME PATTERN CMD...: CMD succeeds and its output matches PATTERN (grep -E).
expect_output() {
  local name="$1" pattern="$2"; shift 2
  local rc=0
  "$@" >"$WORK/check.out" 2>&1 || rc=$?
  record "$name" "$([ $rc -eq 0 ] && grep -Eq -- "$pattern" "$WORK/check.out" && echo yes || echo no)"
}

# expect_failure NAME PATTERN CMD...: CMD fails and its output matches PATTERN.
expect_failure() {
  local name="$1" pattern="$2"; shift 2
  local rc=0
  "$@" >"$WORK/check.out" 2>&1 || rc=$?
  record "$name" "$([ $rc -ne 0 ] && grep -Eq -- "$pattern" "$WORK/check.out" && echo yes || echo no)"
}

finish() {
  echo "$PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ]
}
