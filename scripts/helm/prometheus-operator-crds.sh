#!/usr/bin/env bash
# Fetches the prometheus-operator CRDs for ServiceMonitor and PrometheusRule from the Go module proxy
# (the module zip carries example/prometheus-operator-crd/), so the chart tests apply the chart's
# optional monitoring objects to the real kube-apiserver against the real schemas. Cached by version;
# prints the folder holding the two CRD files.
#   scripts/helm/prometheus-operator-crds.sh [VERSION]     (default v0.85.0)
set -euo pipefail
V="${1:-${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}}"
CACHE="${KUBETRIAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kubetriage}/prometheus-operator-crds-$V"
FILES="monitoring.coreos.com_servicemonitors.yaml monitoring.coreos.com_prometheusrules.yaml"
if [ -f "$CACHE/.fetched-$V" ]; then
  echo "$CACHE"
  exit 0
fi
mkdir -p "$CACHE"
DIR=$(GOFLAGS=-mod=mod go mod download -json "github.com/prometheus-operator/prometheus-operator@$V" |
  python3 -c 'import json,sys;d=json.load(sys.stdin);print(d.get("Dir") or sys.exit(d.get("Error")))')
for f in $FILES; do cp "$DIR/example/prometheus-operator-crd/$f" "$CACHE/$f"; done
chmod u+w "$CACHE"/*.yaml
touch "$CACHE/.fetched-$V"
echo "$CACHE"
