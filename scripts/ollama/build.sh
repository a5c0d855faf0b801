#!/usr/bin/env bash
# Builds a CPU-only Ollama server from the Go module proxy (v0.11.4: the last release whose module
# holds all its C/C++ sources; later ones download llama.cpp at build time) into a cache outside the
# repo, keyed by version. Idempotent; prints the binary path on stdout.
#   scripts/ollama/build.sh [VERSION]
#
# SIMD: `go install` compiles ggml through cgo with no -march, i.e. scalar code (the runner logs
# `CPU.0.LLAMAFILE=1` and nothing else): SmolLM2-135M then reads prompts at ~12 tokens/s on 2 cores,
# a minute per kubetriage prompt. Ollama's release builds compile one ggml CPU variant per instruction
# set instead. Here: -march=x86-64-v3 (AVX2, FMA, F16C; Intel Haswell / AMD Zen and later) when this
# CPU has AVX2, baseline otherwise; other architectures keep the compiler default (arm64: NEON).
# OLLAMA_MARCH overrides it (e.g. `native`, `x86-64-v4`; `none` = no -march); the flags are part of
# the cache key, so changing them rebuilds.
set -euo pipefail
V="${1:-${OLLAMA_VERSION:-v0.11.4}}"
CACHE="${KUBETRIAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubetriage}/ollama-$V"

MARCH="${OLLAMA_MARCH:-}"
if [ -z "$MARCH" ]; then
  MARCH=none
  if [ "$(uname -m)" = x86_64 ] && grep -qw avx2 /proc/cpuinfo 2>/dev/null &&
    grep -qw fma /proc/cpuinfo && grep -qw f16c /proc/cpuinfo; then
    MARCH=x86-64-v3
  fi
fi
FLAGS="-O3"
[ "$MARCH" = none ] || FLAGS="$FLAGS -march=$MARCH"
STAMP="go install github.com/ollama/ollama@$V CGO_CFLAGS/CGO_CXXFLAGS=$FLAGS"

if [ -x "$CACHE/ollama" ] && [ -f "$CACHE/.built" ] && [ "$(cat "$CACHE/.built")" = "$STAMP" ]; then
  echo "$CACHE/ollama"
  exit 0
fi
command -v go >/dev/null 2>&1 || {
  echo "[ollama-build] ERROR: no \`go\` on PATH: building Ollama $V needs Go >= 1.24 and a C/C++ compiler (gcc, g++)" >&2
  exit 1
}
mkdir -p "$CACHE"
rm -f "$CACHE/.built"
start=$(date +%s)
echo "[ollama-build] building github.com/ollama/ollama@$V (CPU only, cgo, $FLAGS; minutes on 2 cores)" >&2
GOBIN="$CACHE" CGO_ENABLED=1 CGO_CFLAGS="$FLAGS" CGO_CXXFLAGS="$FLAGS" go install "github.com/ollama/ollama@$V" >&2
echo "$STAMP" >"$CACHE/.built"
echo "[ollama-build] done in $(($(date +%s) - start)) s" >&2
echo "$CACHE/ollama"
