#!/usr/bin/env bash
# The `hearth` client subcommands end to end against a running `hearth up`.
source "$(dirname "$0")/lib.sh"

port=$(free_port)
endpoint="http://127.0.0.1:$port"
start_server "127.0.0.1:$port" "$WORK/data"
h() { "$HEARTH_BIN" --endpoint "$endpoint" "$@"; }

mkdir -p "$WORK/code"
printf 'def handler(event, context):\n    return {"ok": True}\n' > "$WORK/code/app.py"
(cd "$WORK/code" && python3 -c 'import zipfile; z=zipfile.ZipFile("../code.zip","w"); z.write("app.py"); z.close()')

expect_output "capacity-provider create" "pool-1 +(Pending|Active)" h capacity-provider create pool-1 --max-vcpus 32
expect_output "capacity-provider list" "pool-1" h capacity-provider list
expect_output "capacity-provider get (json)" '"CapacityProviderArn":"arn:aws:lambda:us-east-1:123456789012:capacity-provider:pool-1"' \
  h --output json capacity-provider get pool-1
expect_failure "capacity-provider get missing" "ResourceNotFoundException" h capacity-provider get nope

expect_output "function create from a directory" "fn-dir +\\\$LATEST +python3.13" \
  h function create fn-dir --code "$WORK/code" --handler app.handler --capacity-provider pool-1
expect_output "function create from a zip" "fn-zip +\\\$LATEST" \
  h function create fn-zip --code "$WORK/code.zip" --runtime python3.12 --handler app.handler
expect_failure "function create duplicate" "ResourceConflictException" \
  h function create fn-zip --code "$WORK/code.zip" --handler app.handler
expect_failure "function create bad code" "InvalidParameterValueException" \
  h function create fn-bad --code "$0" --handler app.handler
expect_output "function list" "fn-dir" h function list
expect_output "function list shows both" "fn-zip" h function list
expect_output "function get" "fn-dir +\\\$LATEST" h function get fn-dir
expect_output "function publish" "fn-zip +1 " h function publish fn-zip
expect_output "function publish latest-published" "fn-dir +\\\$LATEST.PUBLISHED" \
  h function publish fn-dir --latest-published
expect_output "function get qualifier" '"Version":"1"' h --output json function get fn-zip --qualifier 1
wait_active() {
  for _ in $(seq 1 100); do
    if h --output json function get "$1" --qualifier "$2" | grep -q '"State":"Active"'; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}
check "published version becomes Active" wait_active fn-dir '$LATEST.PUBLISHED'
expect_output "invoke unqualified runs \$LATEST.PUBLISHED" '"ok": ?true' h invoke fn-dir --payload '{"a":1}'
expect_output "invoke --output json reports the executed version" '"ExecutedVersion":"\$LATEST.PUBLISHED"' \
  h --output json invoke fn-dir
sleep 1.5  # agents ship logs to the server in the background
expect_output "logs show platform records" 'platform.report' h logs fn-dir --lines 20
check "invoke dry run" h invoke fn-zip --qualifier 1 --invocation-type DryRun
expect_failure "invoke event is not yet supported" "not yet supported" h invoke fn-zip --invocation-type Event
expect_failure "capacity-provider delete in use" "ResourceConflictException" h capacity-provider delete pool-1
expect_output "function delete version" "deleted fn-zip:1" h function delete fn-zip --qualifier 1
expect_output "function delete" "deleted fn-dir" h function delete fn-dir
expect_output "capacity-provider delete" "pool-1" h capacity-provider delete pool-1
expect_failure "unreachable endpoint" "cannot connect" "$HEARTH_BIN" --endpoint "http://127.0.0.1:1" function list

finish
