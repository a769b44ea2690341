#!/usr/bin/env bash
# Builds the four Flotilla images with podman (no Docker engine needed), then checks each: its size
# and the time from `podman run` to /q/health/ready answering 200. Gates: every image < 200 MB,
# ready < 5 s. Exits non-zero when a gate fails.
#
#   scripts/images.sh                 package if needed, build, measure
#   TAG=0.1.0 scripts/images.sh       image tag (default: the project version)
#   BASE_IMAGE=... scripts/images.sh  the JRE base (default: the public eclipse-temurin:17-jre when it
#                                     can be pulled, else one made here: Debian libraries + a jlink'd JRE)
#
# Needs: podman, buildah-compatible storage, mmdebstrap (for the local base), a PostgreSQL on
# 127.0.0.1:5432 (the services migrate their schema at start) and, for the operator, the test
# Kubernetes API server (scripts/kube-apiserver.sh; started here for the check).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
TAG="${TAG:-0.1.0}"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/flotilla/containers"
PUBLIC_BASE=docker.io/library/eclipse-temurin:17-jre
LOCAL_BASE=localhost/flotilla-jre:17
MAX_MB=200
MAX_READY_MS=5000
log() { echo "[images] $*" >&2; }

export CONTAINERS_CONF="$ROOT/docker/containers.conf"
export CONTAINERS_STORAGE_CONF="$CACHE/storage.conf"
export BUILDAH_ISOLATION=chroot
mkdir -p "$CACHE"
if [ ! -f "$CONTAINERS_STORAGE_CONF" ]; then
  cat >"$CONTAINERS_STORAGE_CONF" <<CONF
[storage]
driver = "overlay"
graphroot = "$CACHE/storage"
runroot = "$CACHE/run"
CONF
fi
command -v podman >/dev/null || { log "podman is missing: apt-get install -y --no-install-recommends podman buildah runc mmdebstrap"; exit 1; }

# 1. The services, packaged on the host.
for m in registry-service gateway-service executor-service operator console; do
  [ -f "$m/target/quarkus-app/quarkus-run.jar" ] || { log "packaging (mvn package -DskipTests)"; mvn -B -q package -DskipTests; break; }
done

# 2. The JRE base: the public one if it can be had, else a local stand-in.
base="${BASE_IMAGE:-}"
if [ -z "$base" ]; then
  if podman image exists "$PUBLIC_BASE" || timeout 30 podman pull -q "$PUBLIC_BASE" >/dev/null 2>&1; then
    base="$PUBLIC_BASE"
  else
    base="$LOCAL_BASE"
  fi
fi
if [ "$base" = "$LOCAL_BASE" ] && ! podman image exists "$LOCAL_BASE"; then
  log "the public base cannot be pulled here; making $LOCAL_BASE (Debian libraries + jlink'd JRE 17)"
  WORK="$(mktemp -d "${TMPDIR:-/tmp}/flotilla-base.XXXXXX")"
  trap 'rm -rf "$WORK"' EXIT
  mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
  mmdebstrap --quiet --variant=extract --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr \
    --include=base-files,netbase,tzdata,ca-certificates,libc6,libgcc-s1,libstdc++6,zlib1g \
    bookworm "$WORK/root" ${mirror:+"$mirror"}
  jdk="${JLINK_JDK:-/usr/lib/jvm/java-17-openjdk-amd64}"
  "$jdk/bin/jlink" --output "$WORK/root/opt/java" --strip-java-debug-attributes --no-man-pages \
    --no-header-files --compress=2 --generate-cds-archive --include-locales=en \
    --add-modules java.base,java.compiler,java.datatransfer,java.desktop,java.instrument,java.logging,java.management,java.management.rmi,java.naming,java.net.http,java.prefs,java.rmi,java.scripting,java.security.jgss,java.security.sasl,java.sql,java.transaction.xa,java.xml,java.xml.crypto,jdk.charsets,jdk.crypto.cryptoki,jdk.crypto.ec,jdk.jfr,jdk.localedata,jdk.management,jdk.naming.dns,jdk.net,jdk.unsupported,jdk.zipfs
  rm -f "$WORK/root/opt/java/lib/server/classes_nocoops.jsa"
  mkdir -p "$WORK/root/deployments" "$WORK/root/tmp"
  chmod 1777 "$WORK/root/tmp"
  echo 'jboss:x:185:185::/deployments:/usr/sbin/nologin' >>"$WORK/root/etc/passwd"
  echo 'jboss:x:185:' >>"$WORK/root/etc/group"
  chown 185:185 "$WORK/root/deployments"
  tar -C "$WORK/root" -cf - . | podman import \
    --change 'ENV JAVA_HOME=/opt/java' --change 'ENV PATH=/opt/java/bin:/usr/bin:/bin' \
    --change 'USER 185' - "$LOCAL_BASE" >/dev/null
fi
log "base: $base ($(podman image inspect --format '{{.Size}}' "$base" | awk '{printf "%.0f MB", $1/1e6}'))"

# 3. The images.
declare -A PORT=([registry]=8082 [gateway]=8080 [executor]=8081 [operator]=8083 [console]=8084)
declare -A MODULE=([registry]=registry-service [gateway]=gateway-service [executor]=executor-service [operator]=operator [console]=console)
for s in registry gateway executor operator console; do
  start=$(date +%s%N)
  podman build --quiet --pull=never -f docker/Dockerfile \
    --build-arg BASE_IMAGE="$base" --build-arg SERVICE="${MODULE[$s]}" --build-arg PORT="${PORT[$s]}" \
    -t "localhost/flotilla-$s:$TAG" . >/dev/null
  log "built localhost/flotilla-$s:$TAG in $(( ($(date +%s%N) - start) / 1000000 )) ms"
done

# 4. Each image runs: size and time to ready, against a scratch database (and, for the operator,
#    the test API server).
db="flotilla_images_$$"
psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $db" >/dev/null
KUBE_PID=""
cleanup() {
  podman rm -f -t 0 $(podman ps -aq --filter label=flotilla-images-check) >/dev/null 2>&1 || true
  if [ -n "$KUBE_PID" ]; then kill "$KUBE_PID" 2>/dev/null || true; fi
  psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
  if [ -n "${WORK:-}" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
kubeconfig=""
if java -version >/dev/null 2>&1; then
  cp_file="$(mktemp)"
  mvn -B -q dependency:build-classpath -pl test-support -Dmdep.outputFile="$cp_file" >/dev/null
  [ -d test-support/target/classes ] || mvn -B -q compile -pl test-support >/dev/null
  kube_out="$(mktemp)"
  java -cp "test-support/target/classes:$(cat "$cp_file")" io.flotilla.testsupport.KubeApiServer >"$kube_out" 2>&1 &
  KUBE_PID=$!
  for _ in $(seq 1 120); do grep -q '^kubeconfig ' "$kube_out" && break; sleep 1; done
  kubeconfig="$(awk '/^kubeconfig / {print $2}' "$kube_out")"
fi

fail=0
printf '%-10s %10s %12s\n' image size ready >&2
for s in registry gateway executor operator console; do
  image="localhost/flotilla-$s:$TAG"
  size=$(podman image inspect --format '{{.Size}}' "$image")
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  env=(-e QUARKUS_HTTP_PORT="$port" -e FLOTILLA_REGISTRY_ADMIN_TOKEN=images-check -e FLOTILLA_GATEWAY_ADMIN_TOKEN=images-check
       -e QUARKUS_DATASOURCE_JDBC_URL="jdbc:postgresql://127.0.0.1:5432/$db" -e QUARKUS_DATASOURCE_REACTIVE_URL="postgresql://127.0.0.1:5432/$db"
       -e QUARKUS_DATASOURCE_USERNAME=postgres -e QUARKUS_DATASOURCE_PASSWORD=
       -e FLOTILLA_CONSOLE_GATEWAY_ADMIN_TOKEN=images-check -e FLOTILLA_CONSOLE_EXECUTOR_ADMIN_TOKEN=images-check
       -e FLOTILLA_CONSOLE_REGISTRY_ADMIN_TOKEN=images-check)
  if [ "$s" = operator ]; then
    env+=(-v "$kubeconfig:/etc/flotilla/kubeconfig:ro" -e KUBECONFIG=/etc/flotilla/kubeconfig
          -e FLOTILLA_OPERATOR_LEADER_ELECTION=false -e FLOTILLA_OPERATOR_INSTALL_CRDS=true)
  fi
  start=$(date +%s%N)
  podman run -d --rm --network host --label flotilla-images-check --read-only --tmpfs /tmp \
    --cap-drop ALL --security-opt no-new-privileges --memory 512m "${env[@]}" "$image" >/dev/null
  ready=""
  for _ in $(seq 1 400); do
    if curl -fs -o /dev/null "http://127.0.0.1:$port/q/health/ready"; then ready=$(( ($(date +%s%N) - start) / 1000000 )); break; fi
    sleep 0.05
  done
  podman rm -f -t 0 $(podman ps -q --filter label=flotilla-images-check) >/dev/null 2>&1 || true
  printf '%-10s %7.1f MB %9s ms\n' "$s" "$(echo "$size / 1000000" | bc -l)" "${ready:-never}" >&2
  if [ "$size" -ge $((MAX_MB * 1000000)) ]; then log "GATE: $s is over $MAX_MB MB"; fail=1; fi
  if [ -z "$ready" ] || [ "$ready" -ge "$MAX_READY_MS" ]; then log "GATE: $s was not ready within $MAX_READY_MS ms"; fail=1; fi
done
exit $fail
