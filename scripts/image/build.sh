#!/usr/bin/env bash
# Builds the kubetriage container image WITHOUT a container runtime, equivalent to ./Dockerfile:
#   1. root filesystem: `mmdebstrap --variant=minbase` (Debian bookworm, the Dockerfile's base) plus the
#      runtime libraries librdkafka links against (libssl3 zlib1g libzstd1 liblz4-1 libsasl2-2) and
#      ca-certificates; apt's lists and caches removed;
#   2. Node 24: the binary of the npm registry's `node` package that scripts/bootstrap.sh installed
#      (the same build the Dockerfile's node:24 stage ships), as /usr/local/bin/node;
#   3. the app in /app: package.json, bin/ and src/ as JavaScript (scripts/build-js.ts: Node's own type
#      stripping, once at build time), proto/, config/ and the PRODUCTION dependency closure
#      (`npm ls --omit=dev`) of the node_modules bootstrap built with CKJS_LINKING=dynamic (librdkafka
#      compiled once, linked to the Debian libraries above; its sources and objects are dropped);
#   4. `buildah --storage-driver vfs`: from scratch, copy the tree in, config (non-root user 10001,
#      exec-form entrypoint: no shell at run time, OCI labels), commit, push to an OCI layout.
# Prints the OCI layout reference (DIR:TAG) on stdout. Needs root (mmdebstrap --mode=root, buildah mount).
#   scripts/image/build.sh [OUT_DIR]      (default $KUBETRIAGE_CACHE/image/oci)
# Env: IMAGE_TAG (default package.json's version), KUBETRIAGE_IMAGE_WORK (scratch dir).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
CACHE="${KUBETRIAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubetriage}"
OUT="${1:-$CACHE/image/oci}"
SUITE=bookworm
RUNTIME_PKGS="libssl3,zlib1g,libzstd1,liblz4-1,libsasl2-2,libstdc++6,ca-certificates"
log() { printf '[image] %s\n' "$*" >&2; }
start=$(date +%s)

# --- tools (Debian packages) ---
need=()
for p in buildah mmdebstrap umoci skopeo; do command -v "$p" >/dev/null || need+=("$p"); done
if [ ${#need[@]} -gt 0 ]; then
  log "installing Debian packages: ${need[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

NODE_BIN=$(node -p process.execPath)
NODE_VERSION=$(node -p process.versions.node)
[ "${NODE_VERSION%%.*}" = 24 ] || { log "need Node 24 on PATH (. scripts/bootstrap.sh), got $NODE_VERSION"; exit 1; }
VERSION=$(node -p 'require("./package.json").version')
TAG="${IMAGE_TAG:-$VERSION}"
REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)
[ -d node_modules/@confluentinc/kafka-javascript/build/Release ] ||
  { log "node_modules is not built: run . scripts/bootstrap.sh first"; exit 1; }

# Inputs: the app's files, the Node version, this script. Unchanged inputs: the layout already built is it.
INPUTS=$( { find package.json package-lock.json bin src proto config -type f -print0 | sort -z |
  xargs -0 sha256sum; sha256sum scripts/image/build.sh scripts/build-js.ts; echo "$TAG $SUITE $RUNTIME_PKGS node-$NODE_VERSION"; } |
  sha256sum | cut -c1-16)
if [ -f "$OUT/.kubetriage-inputs" ] && [ "$(cat "$OUT/.kubetriage-inputs")" = "$INPUTS" ]; then
  log "up to date (inputs $INPUTS): $OUT:$TAG"
  echo "$OUT:$TAG"
  exit 0
fi

WORK="${KUBETRIAGE_IMAGE_WORK:-$(mktemp -d /tmp/kubetriage-image.XXXXXX)}"
STORE="$WORK/storage"
BUILDAH=(buildah --storage-driver vfs --root "$STORE" --runroot "$WORK/run")
cleanup() {
  if [ -n "${CTR:-}" ]; then "${BUILDAH[@]}" rm "$CTR" >/dev/null 2>&1 || true; fi
  if [ -z "${KUBETRIAGE_IMAGE_KEEP:-}" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# --- 1. root filesystem (cached by suite and package list: it does not depend on the app) ---
ROOTFS_KEY=$(printf '%s %s r1' "$SUITE" "$RUNTIME_PKGS" | sha256sum | cut -c1-12)
ROOTFS_TAR="$CACHE/image/rootfs-$SUITE-$ROOTFS_KEY.tar"
if [ ! -f "$ROOTFS_TAR" ]; then
  log "mmdebstrap --variant=minbase $SUITE (+ $RUNTIME_PKGS)"
  mkdir -p "$CACHE/image"
  # The user the Dockerfile creates; apt lists, caches and docs are not needed at run time.
  mmdebstrap --variant=minbase --mode=root --include="$RUNTIME_PKGS" \
    --customize-hook='chroot "$1" groupadd --system --gid 10001 kubetriage' \
    --customize-hook='chroot "$1" useradd --system --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin kubetriage' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/usr/share/doc/* "$1"/usr/share/man/* "$1"/usr/share/info/*' \
    "$SUITE" "$ROOTFS_TAR.part.tar" >&2
  mv "$ROOTFS_TAR.part.tar" "$ROOTFS_TAR"
fi

# --- 2 and 3. Node and the app, staged ---
STAGE="$WORK/stage"
mkdir -p "$STAGE/usr/local/bin" "$STAGE/app/node_modules" "$STAGE/var/lib/kubetriage" "$STAGE/etc/kubetriage"
install -m 0755 "$NODE_BIN" "$STAGE/usr/local/bin/node"
cp -a package.json package-lock.json proto config "$STAGE/app/"
# bin/ and src/ as JavaScript, emitted here once: a pod that runs the TypeScript sources loads Node's
# type stripper (a WebAssembly module) at every start, about 25 MB of RSS for the process's life
# (bench/memory.ts: 319.8 MB at 10k pods with it, 297 MB without), and a fresh pod's compile cache is
# always cold. Same paths, same layout: the entrypoint stays /app/bin/kubetriage.js.
JS="$ROOT/dist/image-js"
node scripts/build-js.ts --out "$JS" >&2
cp -a "$JS/bin" "$JS/src" "$STAGE/app/"
rm -rf "$JS"
log "copying the production dependency closure"
NM=$(cd node_modules && pwd -P)
npm ls --omit=dev --all --parseable 2>/dev/null | while read -r p; do
  rel=$(realpath --relative-to="$NM" "$(realpath "$p")")
  case "$rel" in ..*|.) continue ;; esac
  mkdir -p "$STAGE/app/node_modules/$(dirname "$rel")"
  [ -e "$STAGE/app/node_modules/$rel" ] || cp -a "$NM/$rel" "$STAGE/app/node_modules/$rel"
done
# librdkafka was compiled once (bootstrap, CKJS_LINKING=dynamic): keep the addon and the shared
# libraries it loads, drop the bundled sources and build objects.
K="$STAGE/app/node_modules/@confluentinc/kafka-javascript"
rm -rf "$K/deps" "$K/build/Release/obj.target" "$K/build/Release/.deps" "$K/build/deps/"*.a "$K/src"
# Nested node_modules/.bin links and tests are not needed.
find "$STAGE/app/node_modules" -name .bin -prune -exec rm -rf {} +
chmod -R a+rX,go-w "$STAGE"
chown 10001:10001 "$STAGE/var/lib/kubetriage"

# --- 4. the image ---
log "buildah (vfs): from scratch, add rootfs and app, commit"
CTR=$("${BUILDAH[@]}" from --name "kubetriage-build-$$" scratch)
MNT=$("${BUILDAH[@]}" mount "$CTR")
tar -C "$MNT" -xf "$ROOTFS_TAR"
cp -a "$STAGE/." "$MNT/"
"${BUILDAH[@]}" umount "$CTR" >/dev/null
CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)
"${BUILDAH[@]}" config \
  --os linux --arch amd64 \
  --user 10001:10001 \
  --workingdir /app \
  --env NODE_ENV=production \
  --env PATH=/usr/local/bin:/usr/bin:/bin \
  --entrypoint '["/usr/local/bin/node", "/app/bin/kubetriage.js"]' \
  --cmd '["run"]' \
  --port 9464 \
  --volume /var/lib/kubetriage \
  --label org.opencontainers.image.title=kubetriage \
  --label "org.opencontainers.image.description=Explainable incidents and human-approved scale actions from OpenTelemetry telemetry" \
  --label org.opencontainers.image.version="$VERSION" \
  --label org.opencontainers.image.revision="$REVISION" \
  --label org.opencontainers.image.created="$CREATED" \
  --label org.opencontainers.image.licenses=Apache-2.0 \
  --label org.opencontainers.image.source=https://github.com/kubetriage/kubetriage \
  --label org.opencontainers.image.base.name=docker.io/library/debian:bookworm-slim \
  "$CTR" >&2
"${BUILDAH[@]}" commit --quiet --rm "$CTR" "localhost/kubetriage:$TAG" >&2
CTR=""
rm -rf "$OUT"
mkdir -p "$(dirname "$OUT")"
"${BUILDAH[@]}" push --quiet "localhost/kubetriage:$TAG" "oci:$OUT:$TAG" >&2
echo "$INPUTS" > "$OUT/.kubetriage-inputs"
log "done in $(( $(date +%s) - start )) s: $OUT:$TAG ($(du -sh "$OUT" | cut -f1) compressed layout)"
echo "$OUT:$TAG"
