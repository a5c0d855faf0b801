#!/usr/bin/env bash
# Builds or fetches every real part the test suite runs against, so no test has to skip: the Kafka
# broker jars, kube-apiserver + etcd, the OpenTelemetry Collector, Ollama and its small model, and for
# the packaging tests helm, the prometheus-operator CRDs, promtool and the container image. One
# script for every way the suite starts: `.ci/run`, `./run test` and `npm test` (scripts/test.ts).
# Each part's script caches by version outside the repo (~/.cache/kubetriage): on a machine that has
# them all, this returns in well under a second; a fresh machine pays once (kube-apiserver + etcd
# ~6 min, the Collector ~3-6 min, Ollama ~2.5 min on 2 cores, the model and the Kafka jars seconds).
# A part that cannot be had fails this script with its reason and the command that builds it.
# A part whose binary is given explicitly (OTELCOL_BIN, OLLAMA_BIN, KUBETRIAGE_OLLAMA_GGUF,
# KUBETRIAGE_KUBE_APISERVER + KUBETRIAGE_ETCD) is not built.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[prepare] %s\n' "$*" >&2; }
ms() { date +%s%3N; }

part() {
  local name=$1 script=$2 t0 rc=0
  t0=$(ms)
  bash "$script" >/dev/null || rc=$?
  if [ "$rc" -ne 0 ]; then
    say "$name: FAILED (exit $rc); the tests need it. Its output is above; build it with: bash $script"
    exit 1
  fi
  say "$name: ready ($(($(ms) - t0)) ms)"
}

part 'Kafka broker jars' scripts/kafka/fetch-broker.sh
if [ -n "${KUBETRIAGE_KUBE_APISERVER:-}" ] && [ -n "${KUBETRIAGE_ETCD:-}" ]; then
  say 'kube-apiserver + etcd: given (KUBETRIAGE_KUBE_APISERVER, KUBETRIAGE_ETCD)'
else
  part 'kube-apiserver + etcd' scripts/kube/build-apiserver.sh
fi
if [ -n "${OTELCOL_BIN:-}" ]; then say "Collector: given (OTELCOL_BIN=$OTELCOL_BIN)"
else part 'OpenTelemetry Collector' scripts/otelcol/build.sh; fi
if [ -n "${OLLAMA_BIN:-}" ]; then say "Ollama: given (OLLAMA_BIN=$OLLAMA_BIN)"
else part 'Ollama' scripts/ollama/build.sh; fi
if [ -n "${KUBETRIAGE_OLLAMA_GGUF:-}" ]; then say "Ollama model: given (KUBETRIAGE_OLLAMA_GGUF)"
else part 'Ollama model (SmolLM2-135M)' scripts/ollama/model.sh; fi
# Packaging (test/deploy): helm and the CRDs its monitoring objects are checked against, promtool for
# the alert rules, and the container image (mmdebstrap + buildah, root; ~10 min cold, seconds cached).
part 'helm' scripts/helm/build.sh
part 'prometheus-operator CRDs' scripts/helm/prometheus-operator-crds.sh
part 'promtool' scripts/promtool/build.sh
# Alertmanager for the notify tests (test/notify): 1-5 min cold, cached by version.
part 'Alertmanager' scripts/alertmanager/build.sh
part 'container image' scripts/image/build.sh
