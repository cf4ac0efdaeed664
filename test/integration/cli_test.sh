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
expect_output "function get" "Version +\\\$LATEST" h function get fn-dir
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

# The CLI as a daily tool.
expect_output "--version" "^hearth [0-9]+\.[0-9]+\.[0-9]+" "$HEARTH_BIN" --version
expect_output "help lists the commands" "capacity-provider" "$HEARTH_BIN" help
expect_output "help of one command" "update-code" "$HEARTH_BIN" help function
expect_failure "a typo is named" "'fucntion' is not a hearth command" "$HEARTH_BIN" fucntion list
expect_failure "a sub-command typo is named" "'lst' is not a hearth function command" h function lst
expect_failure "a command without its subcommand shows its help" "update-config" h function
expect_output "options after the subcommand" '"CapacityProviderArn"' \
  "$HEARTH_BIN" capacity-provider get pool-1 --output json --endpoint "$endpoint"
expect_output "create --env --publish --wait ends Active" "fn-env +\\\$LATEST.PUBLISHED +python3.13 .*Active" \
  h function create fn-env --code "$WORK/code" --handler app.handler --capacity-provider pool-1 \
  --env GREETING=hi --env MODE=test --publish --wait
expect_output "list shows the published version's state" "fn-env +python3.13 +2048 +\\\$LATEST.PUBLISHED +Active" \
  h function list
expect_output "get shows every state field" "LastUpdateStatus +Successful" h function get fn-env
expect_output "get shows the environment" 'GREETING' h function get fn-env
expect_output "update-config --env --wait" "fn-env:\\\$LATEST +ActiveNonInvocable +Successful" \
  h function update-config fn-env --env GREETING=hello --timeout 9 --wait
expect_output "the new configuration is there" '"Timeout":9' h --output json function get fn-env
expect_output "update-code --publish --wait" "fn-env:\\\$LATEST.PUBLISHED +Active +Successful" \
  h function update-code fn-env --code "$WORK/code" --publish --wait
expect_failure "update-config with nothing to change" "nothing to change" h function update-config fn-env
expect_output "publish --wait" "fn-env +1 .*Active" h function publish fn-env --wait
expect_output "alias create" "alias:live -> 1|:live -> 1" h function alias fn-env live --version 1
expect_output "aliases" "live +1" h function aliases fn-env
expect_output "invoke through the alias" '"ok": ?true' h invoke fn-env --qualifier live
expect_failure "logs of a typo fail" "ResourceNotFoundException" h logs fn-nope
expect_failure "logs --follow of a typo fails at once" "ResourceNotFoundException" timeout 10 "$HEARTH_BIN" --endpoint "$endpoint" logs fn-nope --follow
mkdir -p "$WORK/err"
printf 'def handler(event, context):\n    raise ValueError("bad input")\n' > "$WORK/err/app.py"
check "a failing function publishes" h function create fn-err --code "$WORK/err" --handler app.handler \
  --capacity-provider pool-1 --publish --wait
rc=0; h invoke fn-err >"$WORK/err.out" 2>"$WORK/err.err" || rc=$?
record "a function error exits 2" "$([ $rc -eq 2 ] && echo yes || echo no)"
record "a function error is said on stderr" \
  "$(grep -q 'error: the function failed (Unhandled): ValueError: bad input' "$WORK/err.err" && echo yes || echo no)"
record "the error payload stays on stdout" "$(grep -q '"errorType"' "$WORK/err.out" && echo yes || echo no)"
expect_output "top --once" "FUNCTION +VERSION +READY" h top --once
expect_output "top --once shows the EEs" "ee-[0-9a-f-]+ +fn-env" h top --once --function fn-env
expect_output "activity" "ScaleOut .*fn-env" h activity
expect_output "cost" "Total: \\\$[0-9]" h cost
check "function delete fn-env" h function delete fn-env
check "function delete fn-err" h function delete fn-err

expect_failure "capacity-provider delete in use" "ResourceConflictException" h capacity-provider delete pool-1
expect_output "function delete version" "deleted fn-zip:1" h function delete fn-zip --qualifier 1
expect_output "function delete" "deleted fn-dir" h function delete fn-dir
expect_output "capacity-provider delete" "pool-1" h capacity-provider delete pool-1
expect_failure "unreachable endpoint" "cannot connect" "$HEARTH_BIN" --endpoint "http://127.0.0.1:1" function list

finish
