#!/usr/bin/env bash
# Drives a hearth server with Debian's AWS CLI (/usr/bin/aws, v2.9.x with its bundled botocore):
# create-function, get-function, get-function-configuration, list-functions, publish-version,
# list-versions-by-function, delete-function, plus a few error cases.
#
# Starts its own server (free loopback port, temp data dir) and stops it on exit.
# Environment: HEARTH_BIN (default <repo>/build/bin/hearth), HEARTH_KEEP_DATA=1 keeps the data dir.
# Prints "N passed, N failed" and exits non-zero if anything failed.

# shellcheck disable=SC2016 # '$LATEST' is a literal version name, not an expansion

set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../../.." && pwd)"
HEARTH_BIN="${HEARTH_BIN:-$REPO_ROOT/build/bin/hearth}"
AWS_BIN=/usr/bin/aws # Debian's awscli, explicitly: not whatever `aws` is first on PATH.

passed=0
failed=0
pass() {
  passed=$((passed + 1))
  echo "ok   - $1"
}
fail() {
  failed=$((failed + 1))
  echo "FAIL - $1"
  if [ $# -gt 1 ]; then printf '       %s\n' "$2"; fi
}
check_eq() { # check_eq <description> <expected> <actual>
  if [ "$2" == "$3" ]; then pass "$1"; else fail "$1" "expected [$2], got [$3]"; fi
}

if [ ! -x "$AWS_BIN" ]; then
  echo "$AWS_BIN not found (apt-get install awscli)" >&2
  exit 1
fi
if [ ! -x "$HEARTH_BIN" ]; then
  echo "hearth binary not found at $HEARTH_BIN (build it, or set HEARTH_BIN)" >&2
  exit 1
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/hearth-awscli-XXXXXX")"
data="$work/data"
mkdir -p "$data"
log="$data/hearth.log"
server_pid=""

cleanup() {
  local rc=$?
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do
      kill -0 "$server_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$server_pid" 2>/dev/null; then
      echo "hearth did not exit after SIGTERM; killing it" >&2
      kill -KILL "$server_pid" 2>/dev/null || true
    fi
    wait "$server_pid" 2>/dev/null || true
  fi
  if [ "$rc" -ne 0 ] || [ "$failed" -gt 0 ]; then
    echo "--- hearth log tail ($log) ---" >&2
    tail -n 60 "$log" >&2 2>/dev/null || true
  fi
  if [ -n "${HEARTH_KEEP_DATA:-}" ]; then
    echo "data dir kept: $data" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT

# --- start the server -------------------------------------------------------------------
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')"
endpoint="http://127.0.0.1:$port"
mapfile -t substitutes < <("$(dirname "$0")/../../../scripts/lib/runtime-substitutes")
"$HEARTH_BIN" up --listen "127.0.0.1:$port" --data-dir "$data" "${substitutes[@]}" >>"$log" 2>&1 &
server_pid=$!

healthy=0
for _ in $(seq 1 200); do # 20 s
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "hearth exited before becoming healthy" >&2
    exit 1
  fi
  if python3 -c 'import sys,urllib.request; sys.exit(0 if urllib.request.urlopen(sys.argv[1], timeout=2).status == 200 else 1)' \
    "$endpoint/healthz" 2>/dev/null; then
    healthy=1
    break
  fi
  sleep 0.1
done
if [ "$healthy" -ne 1 ]; then
  echo "hearth did not answer /healthz within 20 s" >&2
  exit 1
fi

# --- the CLI ------------------------------------------------------------------------------
# Isolated from any user config; Debian's python, not a virtualenv's.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
export AWS_PAGER="" AWS_MAX_ATTEMPTS=1 AWS_RETRY_MODE=standard AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE="$work/aws-config" AWS_SHARED_CREDENTIALS_FILE="$work/aws-credentials"
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ENDPOINT_URL_LAMBDA PYTHONPATH PYTHONHOME || true

binfmt=()
if "$AWS_BIN" --cli-binary-format raw-in-base64-out --version >/dev/null 2>&1; then
  binfmt=(--cli-binary-format raw-in-base64-out)
fi
aws_() {
  "$AWS_BIN" --endpoint-url "$endpoint" --region us-east-1 "${binfmt[@]}" "$@"
}
echo "# $("$AWS_BIN" --version 2>&1) against $endpoint"

# json <file> <python expression over d>: print a value from a JSON document
json() {
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print(v if not isinstance(v,(dict,list)) else json.dumps(v, sort_keys=True))' "$1" "$2"
}

# --- the deployment package -----------------------------------------------------------------
zip="$work/fn.zip"
python3 - "$zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("lambda_function.py", "def handler(event, context):\n    return {'ok': True}\n")
PY
zip_sha="$(python3 -c 'import base64,hashlib,sys; print(base64.b64encode(hashlib.sha256(open(sys.argv[1],"rb").read()).digest()).decode())' "$zip")"
zip_size="$(python3 -c 'import os,sys; print(os.path.getsize(sys.argv[1]))' "$zip")"

suffix="$(python3 -c 'import secrets; print(secrets.token_hex(3))')"
fn="cli-fn-$suffix"
fn2="cli-fn2-$suffix"
role="arn:aws:iam::123456789012:role/lambda-role"

# --- create-function --------------------------------------------------------------------------
if aws_ lambda create-function --function-name "$fn" --runtime python3.13 --role "$role" \
  --handler lambda_function.handler --zip-file "fileb://$zip" --description "from the cli" \
  --memory-size 256 --timeout 10 --environment 'Variables={GREETING=hello}' --tags team=cli \
  --output json >"$work/create.json" 2>"$work/err"; then
  pass "create-function exits 0"
  check_eq "create-function FunctionName" "$fn" "$(json "$work/create.json" 'd["FunctionName"]')"
  check_eq "create-function FunctionArn" "arn:aws:lambda:us-east-1:123456789012:function:$fn" "$(json "$work/create.json" 'd["FunctionArn"]')"
  check_eq "create-function CodeSha256 = base64(sha256(zip))" "$zip_sha" "$(json "$work/create.json" 'd["CodeSha256"]')"
  check_eq "create-function CodeSize = zip size" "$zip_size" "$(json "$work/create.json" 'd["CodeSize"]')"
  check_eq "create-function Version" '$LATEST' "$(json "$work/create.json" 'd["Version"]')"
  check_eq "create-function MemorySize" "256" "$(json "$work/create.json" 'd["MemorySize"]')"
  check_eq "create-function Runtime" "python3.13" "$(json "$work/create.json" 'd["Runtime"]')"
  check_eq "create-function Environment" '{"GREETING": "hello"}' "$(json "$work/create.json" 'd["Environment"]["Variables"]')"
else
  fail "create-function exits 0" "$(cat "$work/err")"
fi

if aws_ lambda create-function --function-name "$fn2" --runtime python3.13 --role "$role" \
  --handler lambda_function.handler --zip-file "fileb://$zip" --publish --output json >"$work/create2.json" 2>"$work/err"; then
  check_eq "create-function --publish returns version 1" "1" "$(json "$work/create2.json" 'd["Version"]')"
else
  fail "create-function --publish" "$(cat "$work/err")"
fi

if aws_ lambda create-function --function-name "$fn" --runtime python3.13 --role "$role" \
  --handler lambda_function.handler --zip-file "fileb://$zip" >/dev/null 2>"$work/err"; then
  fail "duplicate create-function fails"
elif grep -q ResourceConflictException "$work/err"; then
  pass "duplicate create-function -> ResourceConflictException"
else
  fail "duplicate create-function -> ResourceConflictException" "$(cat "$work/err")"
fi

# Wait (briefly) for the function to become Active before updating it.
for _ in $(seq 1 100); do
  state="$(aws_ lambda get-function-configuration --function-name "$fn" --query State --output text 2>/dev/null || true)"
  [ "$state" == "Active" ] && break
  sleep 0.1
done
check_eq "function becomes Active" "Active" "$state"

# --- get-function / get-function-configuration ---------------------------------------------
check_eq "get-function Configuration.FunctionName" "$fn" \
  "$(aws_ lambda get-function --function-name "$fn" --query Configuration.FunctionName --output text 2>&1)"
check_eq "get-function Configuration.CodeSha256" "$zip_sha" \
  "$(aws_ lambda get-function --function-name "$fn" --query Configuration.CodeSha256 --output text 2>&1)"
check_eq "get-function Tags.team" "cli" \
  "$(aws_ lambda get-function --function-name "$fn" --query Tags.team --output text 2>&1)"
location="$(aws_ lambda get-function --function-name "$fn" --query Code.Location --output text 2>&1 || true)"
if [[ "$location" == http://* || "$location" == https://* ]]; then
  pass "get-function Code.Location is a URL"
else
  fail "get-function Code.Location is a URL" "got [$location]"
fi
check_eq "get-function-configuration Timeout" "10" \
  "$(aws_ lambda get-function-configuration --function-name "$fn" --query Timeout --output text 2>&1)"
check_eq "get-function by ARN" "$fn" \
  "$(aws_ lambda get-function --function-name "arn:aws:lambda:us-east-1:123456789012:function:$fn" --query Configuration.FunctionName --output text 2>&1)"

if aws_ lambda get-function --function-name "cli-missing-$suffix" >/dev/null 2>"$work/err"; then
  fail "get-function of a missing function fails"
elif grep -q ResourceNotFoundException "$work/err"; then
  pass "get-function of a missing function -> ResourceNotFoundException"
else
  fail "get-function of a missing function -> ResourceNotFoundException" "$(cat "$work/err")"
fi

# --- list-functions (the CLI follows NextMarker itself; --page-size 1 forces one item per page) --
# JSON output: with text output the CLI applies --query to each page separately.
check_eq "list-functions finds both functions" "2" \
  "$(aws_ lambda list-functions --query "length(Functions[?starts_with(FunctionName, 'cli-') && ends_with(FunctionName, '-$suffix')])" --output json 2>&1)"
check_eq "list-functions --page-size 1 pages through all of them" "2" \
  "$(aws_ lambda list-functions --page-size 1 --query "length(Functions[?ends_with(FunctionName, '-$suffix')])" --output json 2>&1)"
check_eq "list-functions --max-items 1 returns one item" "1" \
  "$(aws_ lambda list-functions --max-items 1 --query "length(Functions)" --output json 2>&1)"

# --- publish-version ------------------------------------------------------------------------------
if aws_ lambda publish-version --function-name "$fn" --description "first" --output json >"$work/pub1.json" 2>"$work/err"; then
  check_eq "publish-version Version" "1" "$(json "$work/pub1.json" 'd["Version"]')"
  check_eq "publish-version FunctionArn" "arn:aws:lambda:us-east-1:123456789012:function:$fn:1" "$(json "$work/pub1.json" 'd["FunctionArn"]')"
  check_eq "publish-version Description" "first" "$(json "$work/pub1.json" 'd["Description"]')"
else
  fail "publish-version" "$(cat "$work/err")"
fi
if aws_ lambda update-function-configuration --function-name "$fn" --description "changed" >/dev/null 2>"$work/err"; then
  pass "update-function-configuration exits 0"
else
  fail "update-function-configuration exits 0" "$(cat "$work/err")"
fi
for _ in $(seq 1 100); do
  st="$(aws_ lambda get-function-configuration --function-name "$fn" --query LastUpdateStatus --output text 2>/dev/null || true)"
  [ "$st" != "InProgress" ] && break
  sleep 0.1
done
check_eq "second publish-version Version" "2" \
  "$(aws_ lambda publish-version --function-name "$fn" --query Version --output text 2>&1)"
check_eq "get-function --qualifier 1" "1" \
  "$(aws_ lambda get-function --function-name "$fn" --qualifier 1 --query Configuration.Version --output text 2>&1)"
check_eq "list-versions-by-function" '$LATEST 1 2' \
  "$(aws_ lambda list-versions-by-function --function-name "$fn" --query 'Versions[].Version' --output text 2>&1 | tr '\t' '\n' | LC_ALL=C sort | tr '\n' ' ' | sed 's/ $//')"

# --- delete-function ------------------------------------------------------------------------------
if aws_ lambda delete-function --function-name "$fn" --qualifier 1 >/dev/null 2>"$work/err"; then
  pass "delete-function --qualifier 1 exits 0"
else
  fail "delete-function --qualifier 1 exits 0" "$(cat "$work/err")"
fi
if aws_ lambda get-function --function-name "$fn" --qualifier 1 >/dev/null 2>"$work/err"; then
  fail "deleted version is gone"
elif grep -q ResourceNotFoundException "$work/err"; then
  pass "deleted version -> ResourceNotFoundException"
else
  fail "deleted version -> ResourceNotFoundException" "$(cat "$work/err")"
fi
if aws_ lambda delete-function --function-name "$fn" --qualifier '$LATEST' >/dev/null 2>"$work/err"; then
  fail "delete-function --qualifier \$LATEST is refused"
elif grep -q InvalidParameterValueException "$work/err"; then
  pass "delete-function --qualifier \$LATEST -> InvalidParameterValueException"
else
  fail "delete-function --qualifier \$LATEST -> InvalidParameterValueException" "$(cat "$work/err")"
fi
for f in "$fn" "$fn2"; do
  if aws_ lambda delete-function --function-name "$f" >/dev/null 2>"$work/err"; then
    pass "delete-function $f exits 0"
  else
    fail "delete-function $f exits 0" "$(cat "$work/err")"
  fi
  if aws_ lambda get-function --function-name "$f" >/dev/null 2>"$work/err"; then
    fail "deleted function $f is gone"
  elif grep -q ResourceNotFoundException "$work/err"; then
    pass "deleted function $f -> ResourceNotFoundException"
  else
    fail "deleted function $f -> ResourceNotFoundException" "$(cat "$work/err")"
  fi
done
check_eq "list-functions no longer lists them" "0" \
  "$(aws_ lambda list-functions --query "length(Functions[?ends_with(FunctionName, '-$suffix')])" --output json 2>&1)"

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
