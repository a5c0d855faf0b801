#!/usr/bin/env bash
# Builds Alertmanager from the Go module proxy into a cache outside the repo, keyed by version, for the
# notify tests (kubetriage routes triage reports through a real Alertmanager). Prints the binary's path on
# stdout; progress on stderr. Idempotent: a finished build leaves a stamp and later runs return at once.
#   scripts/alertmanager/build.sh [ALERTMANAGER_VERSION]     (default v0.35.0)
# Why not `go install …/cmd/alertmanager@v0.35.0`: the module zip lacks the built web UI that ui/web.go
# embeds (`pattern app/dist: no matching files found`). So: copy the module source to a writable folder,
# put a placeholder ui/app/dist/index.html there (the API v2 does not need the UI), and `go build`.
# Cold build (empty Go build cache, 2 shared cores, nice 19): 321 s wall, 106 s user + 21 s sys CPU; with
# the Go build cache warm from the other Go tools: 54 s. Cached: a few milliseconds.
set -euo pipefail
V="${1:-${ALERTMANAGER_VERSION:-v0.35.0}}"
CACHE="${KUBETRIAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubetriage}/alertmanager-$V"
# Bump RECIPE when the build below changes, so a binary from an older recipe is rebuilt.
RECIPE=1
STAMP="$CACHE/.built-$V-r$RECIPE"
BIN="$CACHE/alertmanager"
if [ -f "$STAMP" ] && [ -x "$BIN" ]; then
  echo "$BIN"
  exit 0
fi
log() { printf '[alertmanager-build] %s\n' "$*" >&2; }
mkdir -p "$CACHE"
# Serialise concurrent builds (several test files may ask at once).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$CACHE/.lock"
  flock 9
  if [ -f "$STAMP" ] && [ -x "$BIN" ]; then
    echo "$BIN"
    exit 0
  fi
fi
start=$(date +%s)
log "go mod download github.com/prometheus/alertmanager@$V"
# A throwaway module so `go mod download` works outside any module and leaves go.mod alone.
tmpmod=$(mktemp -d)
src="$CACHE/src"
trap 'rm -rf "$tmpmod"' EXIT
(cd "$tmpmod" && go mod init kubetriage-alertmanager-fetch >/dev/null 2>&1 &&
  go mod download -json "github.com/prometheus/alertmanager@$V") >"$tmpmod/dl.json"
dir=$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$tmpmod/dl.json")
if [ -z "$dir" ] || [ ! -d "$dir" ]; then
  log "go mod download gave no source folder:"; cat "$tmpmod/dl.json" >&2; exit 1
fi
# The module cache is read-only: copy it somewhere writable to add the UI placeholder.
rm -rf "$src"
cp -r "$dir" "$src"
chmod -R u+w "$src"
mkdir -p "$src/ui/app/dist"
printf '<!doctype html><title>Alertmanager</title><p>Web UI not built (kubetriage test build; API v2 only).</p>\n' \
  >"$src/ui/app/dist/index.html"
log "go build ./cmd/alertmanager (1-5 min cold on 2 cores)"
(cd "$src" && CGO_ENABLED=0 nice -n 19 go build -trimpath -ldflags='-s -w' -o "$BIN.tmp" ./cmd/alertmanager) >&2
mv "$BIN.tmp" "$BIN"
"$BIN" --version >&2
rm -rf "$src"
touch "$STAMP"
log "done in $(( $(date +%s) - start )) s"
echo "$BIN"
