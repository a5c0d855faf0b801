#!/usr/bin/env bash
# Builds a CPU-only Ollama server from the Go module proxy (v0.11.4: the last release whose module
# holds all its C/C++ sources; later ones download llama.cpp at build time) into a cache outside the
# repo, keyed by version. Idempotent; prints the binary path on stdout.
#   scripts/ollama/build.sh [VERSION]
set -euo pipefail
V="${1:-${OLLAMA_VERSION:-v0.11.4}}"
CACHE="${KUBETRIAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubetriage}/ollama-$V"
if [ -x "$CACHE/ollama" ] && [ -f "$CACHE/.built" ]; then
  echo "$CACHE/ollama"
  exit 0
fi
mkdir -p "$CACHE"
start=$(date +%s)
echo "[ollama-build] building github.com/ollama/ollama@$V (CPU only, cgo; many minutes on 2 cores)" >&2
GOBIN="$CACHE" CGO_ENABLED=1 go install "github.com/ollama/ollama@$V" >&2
touch "$CACHE/.built"
echo "[ollama-build] done in $(( $(date +%s) - start )) s" >&2
echo "$CACHE/ollama"
