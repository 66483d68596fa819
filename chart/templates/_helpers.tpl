{{/* Chart name, overridable. */}}
{{- define "kmcp.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Full name: the release name, with the chart name added unless the release already has it. */}}
{{- define "kmcp.fullname" -}}
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

{{- define "kmcp.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "kmcp.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kmcp.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kmcp.labels" -}}
helm.sh/chart: {{ include "kmcp.chart" . }}
{{ include "kmcp.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "kmcp.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kmcp.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kmcp.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/*
Secret names and keys: the same as `kmcp secrets create` writes (src/lib/setup/secret-names.ts,
copied into files/contract.json by scripts/gen-chart.ts).
*/}}
{{- define "kmcp.contract" -}}
{{- .Files.Get "files/contract.json" }}
{{- end }}

{{- define "kmcp.oidcClientSecretName" -}}
{{- $contract := include "kmcp.contract" . | fromJson }}
{{- default (replace "{release}" .Release.Name $contract.secrets.oidcClient.name) .Values.oidc.credentialsSecretName }}
{{- end }}

{{- define "kmcp.keysSecretName" -}}
{{- $contract := include "kmcp.contract" . | fromJson }}
{{- default (replace "{release}" .Release.Name $contract.secrets.keys.name) .Values.jwt.secretName }}
{{- end }}

{{/* The URL MCP clients use: oidc.publicUrl, else the ingress host. Empty when neither is set. */}}
{{- define "kmcp.publicUrl" -}}
{{- if .Values.oidc.publicUrl }}
{{- .Values.oidc.publicUrl | trimSuffix "/" }}
{{- else if .Values.ingress.enabled }}
{{- printf "%s://%s" (ternary "https" "http" .Values.ingress.tls.enabled) .Values.ingress.host }}
{{- end }}
{{- end }}

{{- define "kmcp.redisName" -}}
{{- printf "%s-redis" (include "kmcp.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The Redis URL written into oidc.yaml and REDIS_URL (never one with a password: that comes from
   a Secret). redis.url may name a Sentinel (redis+sentinel://…) or a Cluster (redis+cluster://…). */}}
{{- define "kmcp.redisUrl" -}}
{{- if .Values.redis.enabled }}
{{- printf "redis://%s.%s.svc:%d/0" (include "kmcp.redisName" .) .Release.Namespace (int .Values.redis.port) }}
{{- else if .Values.redis.url }}
{{- .Values.redis.url }}
{{- end }}
{{- end }}

{{/* Whether kmcp has a Redis (bundled or redis.url): what lets replicas share state. */}}
{{- define "kmcp.redisOn" -}}
{{- if or .Values.redis.enabled .Values.redis.url }}true{{- end }}
{{- end }}

{{/* Pods of the Deployment: replicaCount, else 2 when replicas can share state (Redis, or --stateless), else 1. */}}
{{- define "kmcp.replicas" -}}
{{- if not (kindIs "invalid" .Values.replicaCount) }}
{{- int .Values.replicaCount }}
{{- else if or (include "kmcp.redisOn" .) .Values.mcp.stateless }}2
{{- else }}1
{{- end }}
{{- end }}

{{/* Refuses combinations that would install but never work, with the fix in the message. */}}
{{- define "kmcp.validate" -}}
{{- if and .Values.oidc.enabled (not (or .Values.redis.enabled .Values.redis.url)) }}
{{- fail "authentication (oidc.enabled) keeps registered clients and tokens in Redis: set redis.enabled=true for the bundled one, or redis.url to your own" }}
{{- end }}
{{- if and .Values.redis.enabled .Values.redis.url }}
{{- fail "redis.enabled=true deploys the bundled Redis and redis.url points at your own: choose one (set redis.enabled=false to use redis.url)" }}
{{- end }}
{{- if and .Values.redis.url (contains "@" .Values.redis.url) }}
{{- fail "redis.url must not hold credentials (it is stored in a ConfigMap): put the password in a Secret and name it in redis.auth.existingSecret" }}
{{- end }}
{{- $many := or (gt (int (include "kmcp.replicas" .)) 1) .Values.autoscaling.enabled }}
{{- if and $many (not (include "kmcp.redisOn" .)) (not .Values.mcp.stateless) }}
{{- fail "more than one kmcp replica (replicaCount > 1 or autoscaling.enabled) needs Redis, where the replicas share sessions and OAuth state: set redis.enabled=true or redis.url, or mcp.stateless=true, or replicaCount=1" }}
{{- end }}
{{- if and .Values.caBundle.configMapName .Values.caBundle.secretName }}
{{- fail "caBundle.configMapName and caBundle.secretName both name the extra certificate authorities: set one of them" }}
{{- end }}
{{- if and .Values.impersonation.enabled (not .Values.oidc.enabled) }}
{{- fail "impersonation.enabled needs oidc.enabled: without sign-in there is no user to impersonate" }}
{{- end }}
{{- end }}

{{/* The Secret holding the Redis password: the operator's, or the generated one of the bundled Redis. Empty: none. */}}
{{- define "kmcp.redisAuthSecret" -}}
{{- if .Values.redis.auth.existingSecret }}
{{- .Values.redis.auth.existingSecret }}
{{- else if .Values.redis.enabled }}
{{- printf "%s-auth" (include "kmcp.redisName" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{/* Host names kmcp answers to besides loopback and public_url (--allowed-hosts). */}}
{{- define "kmcp.allowedHosts" -}}
{{- $name := include "kmcp.fullname" . }}
{{- $hosts := list $name (printf "%s.%s" $name .Release.Namespace) (printf "%s.%s.svc" $name .Release.Namespace) (printf "%s.%s.svc.cluster.local" $name .Release.Namespace) }}
{{- if .Values.ingress.enabled }}{{- $hosts = append $hosts .Values.ingress.host }}{{- end }}
{{- join "," (concat $hosts .Values.allowedHosts) }}
{{- end }}

{{/*
Server modes (docs/safety.md) as the environment of kmcp serve, so they apply with and without OAuth.
*/}}
{{- define "kmcp.safetyEnv" -}}
{{- $s := .Values.safety -}}
{{- if $s.readOnly }}
- name: KMCP_READ_ONLY
  value: "true"
{{- end }}
{{- if $s.disableDestructive }}
- name: KMCP_DISABLE_DESTRUCTIVE
  value: "true"
{{- end }}
{{- with $s.toolsets }}
- name: KMCP_TOOLSETS
  value: {{ join "," . | quote }}
{{- end }}
{{- with $s.enableTools }}
- name: KMCP_ENABLE_TOOLS
  value: {{ join "," . | quote }}
{{- end }}
{{- with $s.disableTools }}
- name: KMCP_DISABLE_TOOLS
  value: {{ join "," . | quote }}
{{- end }}
{{- with $s.namespaces }}
- name: KMCP_NAMESPACES
  value: {{ join "," . | quote }}
{{- end }}
{{- end }}

{{/* Whether extra certificate authorities are mounted (caBundle.configMapName or caBundle.secretName). */}}
{{- define "kmcp.caBundleOn" -}}
{{- if or .Values.caBundle.configMapName .Values.caBundle.secretName }}true{{- end }}
{{- end }}
