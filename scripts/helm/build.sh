#!/usr/bin/env bash
# Builds helm (v4) from the Go module proxy into a cache outside the repo, keyed by version, for the chart
# tests (helm lint / helm template). Idempotent: a finished build leaves a stamp and later runs print the
# path at once. Prints the helm binary's path on stdout.
#   scripts/helm/build.sh [HELM_VERSION]     (default v4.3.2)
set -euo pipefail
V="${1:-${HELM_VERSION:-v4.3.2}}"
CACHE="${KUBETRIAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubetriage}/helm-$V"
# Bump RECIPE when the build below changes, so a binary from an older recipe is rebuilt.
RECIPE=1
STAMP="$CACHE/.built-$V-r$RECIPE"
if [ -f "$STAMP" ] && [ -x "$CACHE/helm" ]; then
  echo "$CACHE/helm"
  exit 0
fi
log() { printf '[helm-build] %s\n' "$*" >&2; }
mkdir -p "$CACHE"
start=$(date +%s)
log "go install helm.sh/helm/v4/cmd/helm@$V (about 4 min cold on 2 cores)"
# -mod=mod: helm's module needs its go.sum resolved from the proxy; GOBIN puts the binary in the cache.
# The version a release build stamps in (otherwise `helm version` says v4.3).
GOFLAGS=-mod=mod CGO_ENABLED=0 GOBIN="$CACHE" go install -trimpath \
  -ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$V" "helm.sh/helm/v4/cmd/helm@$V" >&2
"$CACHE/helm" version >&2
touch "$STAMP"
log "done in $(( $(date +%s) - start )) s"
echo "$CACHE/helm"
