#!/usr/bin/env bash
# Builds kubetriage's test OpenTelemetry Collector (otelcol-kubetriage) with the OpenTelemetry
# Collector Builder, from the Go module proxy, into a cache directory outside the repository:
#
#   ${KUBETRIAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubetriage}/otelcol-<version>/otelcol-kubetriage
#
# Usage: scripts/otelcol/build.sh [--force]
#   stdout: the binary's absolute path (one line, nothing else)
#   stderr: progress
# Unattended and idempotent: a stamp file records the builder version and a hash of
# builder-config.yaml; when it matches and the binary exists, nothing is rebuilt (well under a second).
# Concurrent invocations serialise on a lock file (flock) when flock is available.
#
# Needs: go >= 1.25 on PATH (or GO=/path/to/go), network access to the Go module proxy on first build.
# Env: OTELCOL_BUILDER_VERSION (default v0.165.0), KUBETRIAGE_CACHE, GO, GOPROXY (Go's default).
# Cold build on a 2-core machine: ~6 min (see scripts/otelcol/README.md for measured times).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
config_src="$here/builder-config.yaml"
builder_version="${OTELCOL_BUILDER_VERSION:-v0.165.0}"
version="${builder_version#v}"
cache_root="${KUBETRIAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubetriage}"
dir="$cache_root/otelcol-$version"
bin_name="otelcol-kubetriage"
binary="$dir/$bin_name"
stamp="$dir/.stamp"
go_bin="${GO:-go}"

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h | --help)
      sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
      exit 0
      ;;
    *)
      echo "build.sh: unknown argument: $arg" >&2
      exit 2
      ;;
  esac
done

say() { printf '[otelcol] %s\n' "$*" >&2; }

mkdir -p "$dir"

# Serialise concurrent builds (tests may start several Collectors at once).
if command -v flock >/dev/null 2>&1; then
  exec 9>"$dir/.lock"
  flock 9
fi

config_hash="$(sha256sum "$config_src" | cut -d' ' -f1)"
want_stamp="builder=$builder_version config=$config_hash"

if [[ $force -eq 0 && -x "$binary" && -f "$stamp" && "$(cat "$stamp")" == "$want_stamp" ]]; then
  say "up to date: $binary"
  echo "$binary"
  exit 0
fi

if ! command -v "$go_bin" >/dev/null 2>&1; then
  say "go not found (set GO=/path/to/go); cannot build the Collector"
  exit 3
fi

export GOFLAGS="${GOFLAGS:+$GOFLAGS }-mod=mod"
start=$(date +%s)

# 1. The builder itself, installed into the cache dir (not $GOPATH/bin).
builder="$dir/bin/builder"
have_builder=""
[[ -x "$builder" ]] && have_builder="$("$builder" version 2>&1 || true)"
if [[ "$have_builder" != *"$builder_version"* ]]; then
  say "installing go.opentelemetry.io/collector/cmd/builder@$builder_version ($("$go_bin" version))"
  GOBIN="$dir/bin" "$go_bin" install "go.opentelemetry.io/collector/cmd/builder@$builder_version" >&2
fi

# 2. The Collector: the manifest with output_path pointed into the cache dir.
src="$dir/src"
rm -rf "$src"
mkdir -p "$src"
sed "s|^\(  output_path:\).*|\1 $src|" "$config_src" >"$dir/builder-config.yaml"
say "building $bin_name $version into $src (this takes minutes on a cold cache)"
"$builder" --config "$dir/builder-config.yaml" >&2

if [[ ! -x "$src/$bin_name" ]]; then
  say "builder finished but $src/$bin_name is missing"
  exit 1
fi
mv -f "$src/$bin_name" "$binary"
echo "$want_stamp" >"$stamp"
say "built $binary in $(($(date +%s) - start))s ($("$binary" --version 2>/dev/null || true))"
echo "$binary"
