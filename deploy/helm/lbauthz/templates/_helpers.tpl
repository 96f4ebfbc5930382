{{/* The name of the release's objects. */}}
{{- define "lbauthz.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 50 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "lbauthz.webhookName" -}}{{ include "lbauthz.fullname" . }}-webhook{{- end -}}

{{- define "lbauthz.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{/* Labels of every object; "component" says which part. */}}
{{- define "lbauthz.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: lbauthz
{{- end -}}

{{- define "lbauthz.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{/* Whether the webhook's certificate comes from cert-manager. */}}
{{- define "lbauthz.certManager" -}}
{{- $cm := .Values.webhook.tls.certManager -}}
{{- if or (eq (toString $cm) "true") (and (eq (toString $cm) "auto") (.Capabilities.APIVersions.Has "cert-manager.io/v1")) -}}
true
{{- end -}}
{{- end -}}

{{/* A container securityContext meeting the restricted Pod Security Standard. */}}
{{- define "lbauthz.securityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop: ["ALL"]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "lbauthz.podSecurityContext" -}}
runAsNonRoot: true
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{/* deploy/nginx/nginx.conf (files/nginx.conf) adapted to the pod. */}}
{{- define "lbauthz.nginxConf" -}}
{{- .Files.Get "files/nginx.conf"
  | replace "server 127.0.0.1:3000;" "include /etc/lbauthz-nginx-pod/upstream.conf;"
  | replace "error_log error.log warn;" "error_log stderr warn;"
  | replace "access_log access.log;" "access_log /dev/stdout;" -}}
{{- end -}}
