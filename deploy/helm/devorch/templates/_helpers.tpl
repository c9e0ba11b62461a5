{{/* Name of the release's objects: the release name when it contains the chart name, else release-chart. */}}
{{- define "devorch.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "devorch.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "devorch.labels" -}}
{{ include "devorch.selectorLabels" . }}
app.kubernetes.io/part-of: devorch
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
{{- end -}}

{{- define "devorch.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "devorch.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- .Values.serviceAccount.name | default (include "devorch.fullname" .) -}}
{{- else -}}
{{- .Values.serviceAccount.name | default "default" -}}
{{- end -}}
{{- end -}}

{{- define "devorch.secretName" -}}
{{- if .Values.secret.create -}}
{{- include "devorch.fullname" . -}}-secrets
{{- else -}}
{{- required "existingSecret (the Secret with DATABASE_URL, JWT_SECRET_KEY, ...) or secret.create=true is required" .Values.existingSecret -}}
{{- end -}}
{{- end -}}

{{/* Environment of every devorch container: settings from the ConfigMap (or inline for hooks), secrets, URL overrides. */}}
{{- define "devorch.envFrom" -}}
- configMapRef:
    name: {{ include "devorch.fullname" . }}-config
- secretRef:
    name: {{ include "devorch.secretName" . }}
{{- end -}}

{{- define "devorch.urlEnv" -}}
{{- if .Values.database.urlSecret.name }}
- name: DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.urlSecret.name }}
      key: {{ .Values.database.urlSecret.key }}
{{- end }}
{{- if .Values.redis.urlSecret.name }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.urlSecret.name }}
      key: {{ .Values.redis.urlSecret.key }}
{{- end }}
{{- end -}}

{{- define "devorch.probes" -}}
startupProbe:
  httpGet:
    path: /health/live
    port: http
  periodSeconds: 2
  failureThreshold: 60
livenessProbe:
  httpGet:
    path: /health/live
    port: http
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet:
    path: /health/ready
    port: http
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
{{- end -}}
