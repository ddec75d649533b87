{{/* Names, labels and the few values every template shares. */}}

{{- define "coffer.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Object name prefix; 52 characters: a StatefulSet's pods carry "<name>-<10-char hash>" in a 63-character label. */}}
{{- define "coffer.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* The headless service that gives every pod its stable name: <pod>.<fullname>-internal. */}}
{{- define "coffer.internalService" -}}
{{- printf "%s-internal" (include "coffer.fullname" .) }}
{{- end }}

{{- define "coffer.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "coffer.selectorLabels" -}}
app.kubernetes.io/name: {{ include "coffer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: server
{{- end }}

{{- define "coffer.labels" -}}
helm.sh/chart: {{ include "coffer.chart" . }}
{{ include "coffer.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "coffer.serviceAccountName" -}}
{{- if .Values.server.serviceAccount.create }}
{{- default (include "coffer.fullname" .) .Values.server.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.server.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "coffer.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* http or https, for the API listener. */}}
{{- define "coffer.scheme" -}}
{{- if .Values.server.tls.enabled }}https{{ else }}http{{ end }}
{{- end }}

{{/* Where the TLS Secret is mounted. */}}
{{- define "coffer.tlsDir" -}}/coffer/tls{{- end }}

{{/* ⌊(replicas-1)/2⌋ unless set: the most pods that may be gone while a quorum remains. */}}
{{- define "coffer.maxUnavailable" -}}
{{- if kindIs "invalid" .Values.server.disruptionBudget.maxUnavailable }}
{{- div (sub (int .Values.server.replicas) 1) 2 }}
{{- else }}
{{- .Values.server.disruptionBudget.maxUnavailable }}
{{- end }}
{{- end }}

{{/* The seal type in use: "" for Shamir. */}}
{{- define "coffer.sealType" -}}
{{- $t := .Values.server.seal.type | default "" }}
{{- if eq $t "shamir" }}{{ else }}{{ $t }}{{ end }}
{{- end }}

{{/* The agent injector: object names and labels (a component of its own, so the server's selectors never pick it). */}}
{{- define "coffer.injector.fullname" -}}
{{- printf "%s-agent-injector" (include "coffer.fullname" .) }}
{{- end }}

{{- define "coffer.injector.service" -}}
{{- printf "%s-agent-injector-svc" (include "coffer.fullname" .) }}
{{- end }}

{{/* Cluster-scoped names carry the namespace: two releases of one name in two namespaces do not collide. */}}
{{- define "coffer.injector.webhookConfig" -}}
{{- list .Release.Namespace (include "coffer.fullname" .) "agent-injector-cfg" | compact | join "-" | trunc 253 | trimSuffix "-" }}
{{- end }}

{{- define "coffer.injector.clusterRole" -}}
{{- list .Release.Namespace (include "coffer.fullname" .) "agent-injector" | compact | join "-" | trunc 253 | trimSuffix "-" }}
{{- end }}

{{- define "coffer.injector.selectorLabels" -}}
app.kubernetes.io/name: {{ include "coffer.name" . }}-agent-injector
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: agent-injector
{{- end }}

{{- define "coffer.injector.labels" -}}
helm.sh/chart: {{ include "coffer.chart" . }}
{{ include "coffer.injector.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The CSI provider's objects: their own component, so the server's selectors never match them. */}}
{{- define "coffer.csiSelectorLabels" -}}
app.kubernetes.io/name: {{ include "coffer.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: csi-provider
{{- end }}

{{- define "coffer.csiLabels" -}}
helm.sh/chart: {{ include "coffer.chart" . }}
{{ include "coffer.csiSelectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "coffer.injector.image" -}}
{{- printf "%s:%s" (.Values.injector.image.repository | default .Values.image.repository) (.Values.injector.image.tag | default .Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{- define "coffer.injector.agentImage" -}}
{{- printf "%s:%s" (.Values.injector.agentImage.repository | default .Values.image.repository) (.Values.injector.agentImage.tag | default .Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/* The address agents reach Coffer at: externalVaultAddr, else the release's client service. */}}
{{- define "coffer.injector.vaultAddr" -}}
{{- if .Values.injector.externalVaultAddr }}
{{- .Values.injector.externalVaultAddr }}
{{- else }}
{{- printf "%s://%s.%s.svc:%v" (include "coffer.scheme" .) (include "coffer.fullname" .) .Release.Namespace .Values.server.service.port }}
{{- end }}
{{- end }}

{{- define "coffer.csiServiceAccountName" -}}
{{- if .Values.csi.serviceAccount.create }}
{{- default (printf "%s-csi-provider" (include "coffer.fullname" .)) .Values.csi.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.csi.serviceAccount.name }}
{{- end }}
{{- end }}
