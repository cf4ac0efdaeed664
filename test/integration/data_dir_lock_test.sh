#!/usr/bin/env bash
# A data dir serves one server at a time: a second `hearth up` on it exits non-zero, names the
# process holding it, and leaves the first serving.
source "$(dirname "$0")/lib.sh"

port=$(free_port)
start_server "127.0.0.1:$port" "$WORK/data"
first_pid=$SERVER_PID
endpoint="http://127.0.0.1:$port"

second_port=$(free_port)
check "a second server on the same data dir exits non-zero and names the holder" bash -c \
  'out=$(timeout 10 "$0" up --listen "127.0.0.1:$1" --data-dir "$2" 2>&1); rc=$?; echo "$out";
   [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "in use by another hearth server (pid $3)" <<<"$out"' \
  "$HEARTH_BIN" "$second_port" "$WORK/data" "$first_pid"
expect_output "the first server keeps serving" '"Functions"' \
  curl -fsS "$endpoint/2015-03-31/functions/"
check "the first server's instances dir is intact" test -d "$WORK/data"
expect_output "the lock names the first server" "^$first_pid\$" cat "$WORK/data/lock"

stop_server
start_server "127.0.0.1:$second_port" "$WORK/data"
expect_output "after the first stops, a new server takes the data dir" '"Functions"' \
  curl -fsS "http://127.0.0.1:$second_port/2015-03-31/functions/"

finish
