{{/* Chart name, truncated to the 63 characters a label allows. */}}
{{- define "kubetriage.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: release-chart unless the release already holds the chart's name. */}}
{{- define "kubetriage.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kubetriage.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kubetriage.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kubetriage.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kubetriage.labels" -}}
helm.sh/chart: {{ include "kubetriage.chart" . }}
{{ include "kubetriage.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kubetriage
{{- end }}

{{- define "kubetriage.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kubetriage.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kubetriage.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The HTTP port the service listens on (config.http.port, the service's own default otherwise). */}}
{{- define "kubetriage.httpPort" -}}
{{- dig "http" "port" 9464 .Values.config }}
{{- end }}

{{/* Stage switches, with the service's defaults (src/core/config*.ts): exec on, enrich off. */}}
{{- define "kubetriage.execEnabled" -}}
{{- if dig "exec" "enabled" true .Values.config }}true{{ end }}
{{- end }}
{{- define "kubetriage.enrichEnabled" -}}
{{- if dig "enrich" "enabled" false .Values.config }}true{{ end }}
{{- end }}

{{/*
Namespaces the executor is bound in: "" (cluster-wide) when exec.policy.namespaces is unset or holds
a glob (the service then checks its grants cluster-wide), else the listed names, comma-separated.
*/}}
{{- define "kubetriage.scaleNamespaces" -}}
{{- $nss := dig "exec" "policy" "namespaces" (list "*") .Values.config }}
{{- $glob := false }}
{{- range $nss }}{{ if or (contains "*" .) (contains "?" .) }}{{ $glob = true }}{{ end }}{{ end }}
{{- if not $glob }}{{ join "," $nss }}{{ end }}
{{- end }}
