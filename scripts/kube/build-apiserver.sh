#!/usr/bin/env bash
# Builds kube-apiserver (and etcd) from the Go module proxy into a cache outside the repo, keyed by
# version, for tests that need a real API server with RBAC. Idempotent: a finished build leaves a
# stamp and later runs print the paths at once. Prints "<kube-apiserver path> <etcd path>" on stdout.
#   scripts/kube/build-apiserver.sh [KUBE_VERSION]     (default 1.36.3)
# k8s.io/kubernetes cannot be `go install`ed (its go.mod replaces staging modules with local paths),
# so a wrapper module replaces each staging module with its published v0.<minor>.<patch>.
set -euo pipefail
V="${1:-${KUBE_VERSION:-1.36.3}}"
CACHE="${KUBETRIAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubetriage}/kube-$V"
# Bump RECIPE when the build below changes, so cached binaries from an older recipe are rebuilt.
RECIPE=2
STAMP="$CACHE/.built-$V-r$RECIPE"
if [ -f "$STAMP" ] && [ -x "$CACHE/kube-apiserver" ] && [ -x "$CACHE/etcd" ]; then
  echo "$CACHE/kube-apiserver $CACHE/etcd"
  exit 0
fi
log() { printf '[kube-build] %s\n' "$*" >&2; }
mkdir -p "$CACHE/src"
cd "$CACHE/src"
export GOFLAGS=-mod=mod CGO_ENABLED=0
start=$(date +%s)
if [ ! -f go.mod ]; then
  log "creating wrapper module for k8s.io/kubernetes v$V"
  go mod init kt-apiserver >&2
fi
M=$(go mod download -json "k8s.io/kubernetes@v$V" | python3 -c 'import json,sys;print(json.load(sys.stdin)["GoMod"])')
for m in $(sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => \./staging/.*#\1#p' "$M"); do
  go mod edit -replace="$m=$m@v0.${V#1.}"
done
cat > tools.go <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "go.etcd.io/etcd/server/v3/etcdmain"
)
GO
# etcd: the version k8s.io/kubernetes itself requires (pinned: a bare `go get` would move it and the
# apiserver's etcd client to the newest release), so the two agree on the storage API.
ETCD_V=$(sed -n 's#^[[:space:]]*go.etcd.io/etcd/server/v3 \(v[^ ]*\).*#\1#p' "$M" | head -1)
[ -n "$ETCD_V" ] || { log "cannot find go.etcd.io/etcd/server/v3 in $M"; exit 1; }
log "resolving modules (k8s.io/kubernetes v$V and etcd $ETCD_V, which it requires)"
go get "k8s.io/kubernetes@v$V" "go.etcd.io/etcd/server/v3@$ETCD_V" >&2
go mod tidy >&2 || true
log "building kube-apiserver (several minutes on 2 cores)"
# The version the release build stamps in (otherwise /version says v0.0.0-master).
MINOR=${V#*.}; MINOR=${MINOR%%.*}
VPKG=k8s.io/component-base/version
KLDFLAGS="-s -w -X $VPKG.gitVersion=v$V -X $VPKG.gitMajor=${V%%.*} -X $VPKG.gitMinor=$MINOR -X $VPKG.gitTreeState=clean"
go build -trimpath -ldflags="$KLDFLAGS" -o "$CACHE/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver >&2
log "building etcd"
cat > etcd_main.go <<'GO'
//go:build etcdmain

package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
go build -tags etcdmain -trimpath -ldflags='-s -w' -o "$CACHE/etcd" ./etcd_main.go >&2
touch "$STAMP"
log "done in $(( $(date +%s) - start )) s"
echo "$CACHE/kube-apiserver $CACHE/etcd"
