{{/* Names: <release>-<service>. */}}
{{- define "flotilla.name" -}}
{{- printf "%s-%s" .root.Release.Name .name | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "flotilla.selectorLabels" -}}
app.kubernetes.io/name: flotilla
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .name }}
{{- end -}}

{{- define "flotilla.labels" -}}
{{ include "flotilla.selectorLabels" . }}
app.kubernetes.io/version: {{ .root.Chart.AppVersion | quote }}
app.kubernetes.io/part-of: flotilla
app.kubernetes.io/managed-by: {{ .root.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .root.Chart.Name .root.Chart.Version }}
{{- end -}}

{{- define "flotilla.image" -}}
{{- printf "%s/flotilla-%s:%s" .root.Values.image.registry .name (default .root.Chart.AppVersion .root.Values.image.tag) -}}
{{- end -}}

{{/* The Secret with the admin tokens: the user's, or the chart's. */}}
{{- define "flotilla.adminSecret" -}}
{{- default (printf "%s-admin-tokens" .Release.Name) .Values.adminTokens.existingSecret -}}
{{- end -}}

{{/* Database URL and credentials Secret: the existing database, or the dev-only one. */}}
{{- define "flotilla.databaseUrl" -}}
{{- if .Values.postgres.enabled -}}
{{- printf "postgresql://%s-postgres:5432/flotilla" .Release.Name -}}
{{- else -}}
{{- required "database.url is required (postgresql://host:5432/db), or set postgres.enabled=true for a dev-only database" .Values.database.url -}}
{{- end -}}
{{- end -}}

{{- define "flotilla.databaseSecret" -}}
{{- if .Values.postgres.enabled -}}
{{- printf "%s-postgres" .Release.Name -}}
{{- else -}}
{{- required "database.existingSecret is required: a Secret with the database username and password" .Values.database.existingSecret -}}
{{- end -}}
{{- end -}}

{{- define "flotilla.databaseEnv" -}}
- name: QUARKUS_DATASOURCE_REACTIVE_URL
  value: {{ include "flotilla.databaseUrl" . | quote }}
- name: QUARKUS_DATASOURCE_JDBC_URL
  value: {{ printf "jdbc:%s" (include "flotilla.databaseUrl" .) | quote }}
- name: QUARKUS_DATASOURCE_USERNAME
  valueFrom: {secretKeyRef: {name: {{ include "flotilla.databaseSecret" . }}, key: {{ ternary "username" .Values.database.usernameKey .Values.postgres.enabled }}}}
- name: QUARKUS_DATASOURCE_PASSWORD
  valueFrom: {secretKeyRef: {name: {{ include "flotilla.databaseSecret" . }}, key: {{ ternary "password" .Values.database.passwordKey .Values.postgres.enabled }}}}
{{- end -}}

{{- define "flotilla.podEnv" -}}
- name: POD_NAME
  valueFrom: {fieldRef: {fieldPath: metadata.name}}
- name: POD_NAMESPACE
  valueFrom: {fieldRef: {fieldPath: metadata.namespace}}
{{- with .root.Values.tracing }}{{ if .endpoint }}
- name: QUARKUS_OTEL_SDK_DISABLED
  value: "false"
- name: QUARKUS_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT
  value: {{ .endpoint | quote }}
- name: QUARKUS_OTEL_EXPORTER_OTLP_TRACES_PROTOCOL
  value: {{ .protocol | quote }}
- name: QUARKUS_OTEL_TRACES_SAMPLER_ARG
  value: {{ .samplingRatio | toString | quote }}
{{- end }}{{ end }}
{{- end -}}

{{/* Restricted pod security: non-root (uid 185), read-only root, no capabilities, RuntimeDefault seccomp. */}}
{{- define "flotilla.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: 185
runAsGroup: 185
fsGroup: 185
seccompProfile: {type: RuntimeDefault}
{{- end -}}

{{- define "flotilla.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities: {drop: [ALL]}
seccompProfile: {type: RuntimeDefault}
{{- end -}}

{{/*
One Deployment of a Flotilla service. Arguments: root, name, port, values (the service's values),
env (rendered YAML list), and optionally annotations, volumes, volumeMounts (rendered YAML lists),
serviceAccount (bool), replicasFromHpa (bool).
*/}}
{{- define "flotilla.deployment" -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "flotilla.name" . }}
  labels:
    {{- include "flotilla.labels" . | nindent 4 }}
spec:
  {{- if not .replicasFromHpa }}
  replicas: {{ .values.replicas }}
  {{- end }}
  revisionHistoryLimit: 3
  selector:
    matchLabels:
      {{- include "flotilla.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "flotilla.selectorLabels" . | nindent 8 }}
      {{- with .annotations }}
      annotations:
        {{- . | nindent 8 }}
      {{- end }}
    spec:
      serviceAccountName: {{ include "flotilla.name" . }}
      automountServiceAccountToken: {{ .serviceAccount | default false }}
      terminationGracePeriodSeconds: {{ .values.terminationGracePeriodSeconds }}
      securityContext:
        {{- include "flotilla.podSecurityContext" . | nindent 8 }}
      {{- with .root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if .root.Values.topologySpread.enabled }}
      topologySpreadConstraints:
        - maxSkew: 1
          topologyKey: kubernetes.io/hostname
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "flotilla.selectorLabels" . | nindent 14 }}
        - maxSkew: 1
          topologyKey: topology.kubernetes.io/zone
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "flotilla.selectorLabels" . | nindent 14 }}
      {{- end }}
      containers:
        - name: {{ .name }}
          image: {{ include "flotilla.image" . }}
          imagePullPolicy: {{ .root.Values.image.pullPolicy }}
          ports:
            - {name: http, containerPort: {{ .port }}, protocol: TCP}
          env:
            - name: QUARKUS_HTTP_PORT
              value: {{ .port | quote }}
            {{- include "flotilla.podEnv" . | nindent 12 }}
            {{- with .env }}
            {{- . | nindent 12 }}
            {{- end }}
          securityContext:
            {{- include "flotilla.containerSecurityContext" . | nindent 12 }}
          resources:
            {{- toYaml .values.resources | nindent 12 }}
          startupProbe:
            httpGet: {path: /q/health/started, port: http}
            periodSeconds: 2
            failureThreshold: 60
          livenessProbe:
            httpGet: {path: /q/health/live, port: http}
            periodSeconds: 10
            failureThreshold: 3
          readinessProbe:
            httpGet: {path: /q/health/ready, port: http}
            periodSeconds: 5
            failureThreshold: 2
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
            {{- with .volumeMounts }}
            {{- . | nindent 12 }}
            {{- end }}
      volumes:
        - name: tmp
          emptyDir: {sizeLimit: 256Mi}
        {{- with .volumes }}
        {{- . | nindent 8 }}
        {{- end }}
{{- end -}}

{{/*
TokenReview settings of a service that accepts ServiceAccount tokens (rendered YAML env entries,
each starting with a newline).
*/}}
{{- define "flotilla.tokenReviewEnv" -}}
{{- printf "\n- name: FLOTILLA_AUTH_KUBERNETES_ENABLED\n  value: \"true\"" }}
{{- with .Values.auth.kubernetesAdmins }}
{{- printf "\n- name: FLOTILLA_AUTH_KUBERNETES_ADMINS\n  value: %s" (join "," . | quote) }}
{{- end }}
{{- end }}
