# Shared helpers for scripts/build, scripts/run and scripts/test. Sourced, not executed.
set -euo pipefail

HEARTH_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export CCACHE_BASEDIR="$HEARTH_ROOT"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/hearth-ccache}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-5G}"

log() { printf '==> %s\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Installs the Debian packages listed in scripts/deps/apt-packages.txt that are missing.
# Quiet when everything is present.
install_apt_packages() {
  local wanted=() missing=()
  mapfile -t wanted < <(grep -v '^\s*#' "$HEARTH_ROOT/scripts/deps/apt-packages.txt" | sed '/^\s*$/d')
  for pkg in "${wanted[@]}"; do
    if [ "$pkg" = nodejs ] || [ "$pkg" = npm ]; then
      # A node from another source (for example nodesource) is fine when node and npm work.
      command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && continue
    fi
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed'; then
      missing+=("$pkg")
    fi
  done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
}

# Installs the pinned npm test clients from their lockfiles unless already current:
# test/compat (AWS SDK for JavaScript) and test/ric (the official Node runtime client, whose
# install compiles a native addon against the system Node headers).
install_npm_clients() {
  local dir stamp
  for dir in "$HEARTH_ROOT/test/compat" "$HEARTH_ROOT/test/ric"; do
    stamp="$dir/node_modules/.package-lock.json"
    if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ]; then
      log "installing npm packages from ${dir#$HEARTH_ROOT/}/package-lock.json"
      (cd "$dir" && npm_config_nodedir=/usr npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi
  done
}

# Configures (once) and builds a CMake preset with two jobs.
build_preset() {
  local preset="$1" dir="$2"; shift 2
  if [ ! -f "$HEARTH_ROOT/$dir/build.ninja" ]; then
    (cd "$HEARTH_ROOT" && cmake --preset "$preset" >/dev/null)
  fi
  # ninja's own status, whatever grep's (and pipefail) make of the pipeline.
  local status
  ninja -C "$HEARTH_ROOT/$dir" -j "${HEARTH_JOBS:-2}" "$@" | grep -v '^\[' &&
    status=("${PIPESTATUS[@]}") || status=("${PIPESTATUS[@]}")
  return "${status[0]}"
}
