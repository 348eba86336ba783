{{/* Labels every object carries. */}}
{{- define "pingvas.labels" -}}
app.kubernetes.io/part-of: pingvas
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
pingvas.io/environment: {{ .Values.environment | quote }}
{{- end }}

{{/* The image reference; both parts are required. */}}
{{- define "pingvas.image" -}}
{{- $image := index .root.Values.image .name -}}
{{- printf "%s:%s" (required (printf "image.%s.repository is required" .name) $image.repository) (required (printf "image.%s.tag is required" .name) $image.tag) -}}
{{- end }}

{{/* Restricted Pod Security (the namespace enforces it). */}}
{{- define "pingvas.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.securityContext.runAsUser }}
runAsGroup: {{ .Values.securityContext.runAsGroup }}
fsGroup: {{ .Values.securityContext.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "pingvas.containerSecurityContext" -}}
runAsNonRoot: true
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "pingvas.appSecret" -}}{{ .Release.Name }}-app{{- end }}

{{- define "pingvas.databaseSecret" -}}{{ .Release.Name }}-database{{- end }}

{{- define "pingvas.workerDatabaseSecret" -}}{{ .Release.Name }}-worker-database{{- end }}

{{- define "pingvas.redisSecret" -}}
{{- if .Values.redis.existingSecret -}}{{ .Values.redis.existingSecret }}{{- else -}}{{ .Release.Name }}-redis{{- end -}}
{{- end }}

{{/* Settings every app container shares: plain values, then secrets; `root` is the
chart's context, `databaseSecret` the Secret with the container's role's DATABASE_URL,
... (the API's or the workers'). */}}
{{- define "pingvas.env" -}}
{{- $databaseSecret := .databaseSecret }}
{{- with .root }}
- name: ENVIRONMENT
  value: {{ .Values.environment | quote }}
- name: PROFILE
  value: {{ .Values.profile | quote }}
- name: AWS_REGION
  value: {{ .Values.aws.region | quote }}
- name: S3_BUCKET
  value: {{ required "config.s3Bucket is required" .Values.config.s3Bucket | quote }}
{{- with .Values.config.imageBaseUrl }}
- name: IMAGE_BASE_URL
  value: {{ . | quote }}
{{- end }}
{{- with .Values.config.cloudfrontKeyPairId }}
- name: CLOUDFRONT_KEY_PAIR_ID
  value: {{ . | quote }}
{{- end }}
{{- with .Values.config.cloudfrontDistributionId }}
- name: CLOUDFRONT_DISTRIBUTION_ID
  value: {{ . | quote }}
{{- end }}
{{- with .Values.config.corsOrigins }}
- name: CORS_ORIGINS
  value: {{ . | quote }}
{{- end }}
- name: MODELS_DIR
  value: {{ .Values.config.modelsDir | quote }}
{{- range list "DATABASE_URL" "DATABASE_READ_URL" "DB_SCHEMA" }}
- name: {{ . }}
  valueFrom:
    secretKeyRef:
      name: {{ $databaseSecret }}
      key: {{ . }}
{{- end }}
- name: REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ include "pingvas.redisSecret" . }}
      key: REDIS_URL
- name: REDIS_CLUSTER
  value: {{ .Values.redis.cluster | toString | quote }}
{{- end }}
{{- end }}

{{/* Spread over zones first, then nodes. */}}
{{- define "pingvas.topologySpread" -}}
- maxSkew: 1
  topologyKey: topology.kubernetes.io/zone
  whenUnsatisfiable: DoNotSchedule
  labelSelector:
    matchLabels:
      {{- toYaml .selector | nindent 6 }}
- maxSkew: 1
  topologyKey: kubernetes.io/hostname
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- toYaml .selector | nindent 6 }}
{{- end }}

{{/* The models claim's name carries a digest of what neither a PersistentVolume nor its
claim may change (size, access point, class): a new value makes a new pair that Helm
creates, and the old pair goes, instead of an upgrade the API server refuses. */}}
{{- define "pingvas.modelsClaim" -}}
{{- $models := .Values.models -}}
{{- $immutable := printf "%s|%s::%s|%s" $models.size $models.fileSystemId $models.accessPointId $models.storageClassName -}}
{{- printf "%s-models-%s" .Release.Name (sha256sum $immutable | trunc 8) -}}
{{- end }}

{{/* Where a pod may run: the release's scheduling values (a preview's: the preview node
pools, which its namespace's admission policy requires) over the workload's own. */}}
{{- define "pingvas.scheduling" -}}
{{- $selector := merge (dict) (.selector | default dict) .root.Values.scheduling.nodeSelector -}}
{{- $tolerations := concat (.tolerations | default list) .root.Values.scheduling.tolerations -}}
{{- with $selector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with $tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end }}
