#!/usr/bin/env bash
# Runs the whole wire-compatibility suite: the AWS SDK for JavaScript tests (sdk/), then the
# AWS CLI script (awscli/run.sh). Exits non-zero if either fails.
#
# Environment: HEARTH_BIN (default <repo>/build/bin/hearth), HEARTH_KEEP_DATA=1 keeps data dirs.
# Arguments are passed to `node --test` (e.g. a single file: ./run.sh sdk/tags.test.mjs).

set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")" || exit 1

# Install the pinned dependencies only when node_modules is missing or older than the lockfile.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "# npm ci"
  if ! npm ci --no-audit --no-fund --loglevel=error >/dev/null; then
    echo "npm ci failed" >&2
    exit 1
  fi
fi

export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

status=0
if [ $# -gt 0 ]; then
  node --test --test-concurrency=1 "$@" || status=1
else
  echo "# SDK tests (node --test sdk/)"
  node --test --test-concurrency=1 sdk/ || status=1
  echo "# AWS CLI tests (awscli/run.sh)"
  ./awscli/run.sh || status=1
fi

if [ "$status" -eq 0 ]; then echo "# compat suite: PASS"; else echo "# compat suite: FAIL"; fi
exit "$status"
