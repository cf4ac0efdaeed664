#!/usr/bin/env bash
# Authentication: loopback accepts any credentials; beyond loopback the server refuses to start
# without keys and then verifies SigV4 signatures.
source "$(dirname "$0")/lib.sh"

port=$(free_port)
check "refuses to listen beyond loopback without keys" bash -c \
  'out=$(timeout 5 "$0" up --listen "0.0.0.0:$1" --data-dir "$2" 2>&1); rc=$?; echo "$out"; [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "requires access keys" <<<"$out"' \
  "$HEARTH_BIN" "$port" "$WORK/refused"

start_server "0.0.0.0:$port" "$WORK/data" --access-key "AKIDHEARTHTEST:s3cret-Key"
endpoint="http://127.0.0.1:$port"

expect_output "correctly signed request is accepted" "NAME" \
  env AWS_ACCESS_KEY_ID=AKIDHEARTHTEST AWS_SECRET_ACCESS_KEY=s3cret-Key \
  "$HEARTH_BIN" --endpoint "$endpoint" function list
expect_failure "wrong secret is rejected" "InvalidSignatureException" \
  env AWS_ACCESS_KEY_ID=AKIDHEARTHTEST AWS_SECRET_ACCESS_KEY=wrong \
  "$HEARTH_BIN" --endpoint "$endpoint" function list
expect_failure "unknown key is rejected" "UnrecognizedClientException" \
  env AWS_ACCESS_KEY_ID=AKIDOTHER AWS_SECRET_ACCESS_KEY=s3cret-Key \
  "$HEARTH_BIN" --endpoint "$endpoint" function list
expect_output "unsigned request gets 403" "^403$" \
  curl -s -o /dev/null -w '%{http_code}' "$endpoint/2015-03-31/functions/"
if [ -x /usr/bin/aws ]; then
  expect_output "awscli signature is accepted" '"Functions"' \
    env AWS_ACCESS_KEY_ID=AKIDHEARTHTEST AWS_SECRET_ACCESS_KEY=s3cret-Key AWS_DEFAULT_REGION=us-east-1 \
    /usr/bin/aws lambda list-functions --endpoint-url "$endpoint" --output json
  expect_failure "awscli with a tampered secret is rejected" "InvalidSignatureException" \
    env AWS_ACCESS_KEY_ID=AKIDHEARTHTEST AWS_SECRET_ACCESS_KEY=tampered AWS_DEFAULT_REGION=us-east-1 \
    /usr/bin/aws lambda list-functions --endpoint-url "$endpoint" --output json
fi
expect_output "healthz needs no signature" "ok" curl -s "$endpoint/healthz"

finish
