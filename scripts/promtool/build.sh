#!/usr/bin/env bash
# Builds promtool from the Go module proxy into a cache outside the repo, keyed by version, for the alert
# rule tests (promtool check rules / promtool test rules). Idempotent: a finished build leaves a stamp and later
# runs print the path at once. Prints the promtool binary's path on stdout.
#   scripts/promtool/build.sh [PROMETHEUS_VERSION]     (default v0.316.0)
set -euo pipefail
V="${1:-${PROMETHEUS_VERSION:-v0.316.0}}"
CACHE="${KUBETRIAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubetriage}/promtool-$V"
# Bump RECIPE when the build below changes, so a binary from an older recipe is rebuilt.
RECIPE=1
STAMP="$CACHE/.built-$V-r$RECIPE"
if [ -f "$STAMP" ] && [ -x "$CACHE/promtool" ]; then
  echo "$CACHE/promtool"
  exit 0
fi
log() { printf '[promtool-build] %s\n' "$*" >&2; }
mkdir -p "$CACHE"
start=$(date +%s)
log "go install github.com/prometheus/prometheus/cmd/promtool@$V (a few minutes cold on 2 cores)"
# GOBIN puts the binary in the cache.
CGO_ENABLED=0 GOBIN="$CACHE" go install -trimpath -ldflags='-s -w' "github.com/prometheus/prometheus/cmd/promtool@$V" >&2
"$CACHE/promtool" --version >&2
touch "$STAMP"
log "done in $(( $(date +%s) - start )) s"
echo "$CACHE/promtool"
