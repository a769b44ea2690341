#!/usr/bin/env bash
# Runs Flotilla locally: builds it, finds PostgreSQL (the local server, else an embedded one),
# starts the services, and runs the demo. Ctrl-C stops everything it started.
set -euo pipefail
cd "$(dirname "$0")"
STATE=.flotilla
LOGS="$STATE/logs"
mkdir -p "$LOGS"
PIDS=()

cleanup() {
  trap - EXIT INT TERM
  if [ ${#PIDS[@]} -gt 0 ]; then
    echo "stopping: ${PIDS[*]}"
    kill "${PIDS[@]}" 2>/dev/null || true
    wait "${PIDS[@]}" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

say "building (mvn package, tests skipped; run the tests with: mvn -B verify)"
mvn -B -q package -DskipTests
mvn -B -q dependency:build-classpath -pl test-support -Dmdep.outputFile="$PWD/$STATE/db.classpath" >/dev/null

say "PostgreSQL"
java -cp "test-support/target/classes:$(cat "$STATE/db.classpath")" io.flotilla.testsupport.LocalDatabase flotilla \
  >"$LOGS/postgres.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 60); do grep -q '^READY ' "$LOGS/postgres.log" && break; sleep 1; done
read -r _ PGHOST PGPORT PGUSER PGDB < <(grep '^READY ' "$LOGS/postgres.log") \
  || { echo "PostgreSQL did not come up; see $LOGS/postgres.log"; exit 1; }
grep -o 'PostgreSQL: .*' "$LOGS/postgres.log" | head -1
export QUARKUS_DATASOURCE_JDBC_URL="jdbc:postgresql://$PGHOST:$PGPORT/$PGDB"
export QUARKUS_DATASOURCE_REACTIVE_URL="postgresql://$PGHOST:$PGPORT/$PGDB"
export QUARKUS_DATASOURCE_USERNAME="$PGUSER"
export FLOTILLA_REGISTRY_ADMIN_TOKEN="${FLOTILLA_REGISTRY_ADMIN_TOKEN:-local-admin-$RANDOM$RANDOM}"
export FLOTILLA_GATEWAY_ADMIN_TOKEN="${FLOTILLA_GATEWAY_ADMIN_TOKEN:-local-admin-$RANDOM$RANDOM}"
if [ -n "${OPENAI_API_KEY:-}" ] && [ -z "${FLOTILLA_GATEWAY_ROUTES_FILE:-}" ]; then
  export FLOTILLA_GATEWAY_ROUTES_FILE="$PWD/examples/gateway/routes-openai.yaml"
  echo "OPENAI_API_KEY is set: the gateway routes to OpenAI (mock as the last fallback)"
else
  echo "no provider key set: the gateway serves the built-in offline mock provider"
fi

start() { # name port
  java -jar "$1/target/quarkus-app/quarkus-run.jar" >"$LOGS/$1.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 60); do
    curl -fs "http://127.0.0.1:$2/q/health/ready" >/dev/null 2>&1 && { echo "$1 ready on :$2 (log: $LOGS/$1.log)"; return; }
    kill -0 "${PIDS[-1]}" 2>/dev/null || { echo "$1 exited; see $LOGS/$1.log"; exit 1; }
    sleep 1
  done
  echo "$1 did not become ready; see $LOGS/$1.log"; exit 1
}

say "services"
start registry-service 8082
start gateway-service 8080
start executor-service 8081

say "demo: an agent registers, heartbeats, is verified, and deregisters"
R=http://127.0.0.1:8082/api/v1
reg=$(curl -fsS -XPOST "$R/agents" -H 'Content-Type: application/json' \
  -d '{"name":"demo-agent","kind":"agent","namespace":"default","podName":"demo-pod","ttlSeconds":30}')
id=$(sed -E 's/.*"id":"([^"]+)".*/\1/' <<<"$reg")
token=$(sed -E 's/.*"token":"([^"]+)".*/\1/' <<<"$reg")
echo "registered $id (token shown once, not printed here)"
echo "heartbeat -> $(curl -fsS -XPUT "$R/agents/$id/heartbeat" -H "Authorization: Bearer $token")"
echo "verify    -> $(curl -fsS -XPOST "$R/tokens/verify" -H 'Content-Type: application/json' -d "{\"token\":\"$token\"}" | head -c 120)..."
curl -fsS -XDELETE "$R/agents/$id" -H "Authorization: Bearer $token"
echo "verify after deregistration -> $(curl -fsS -XPOST "$R/tokens/verify" -H 'Content-Type: application/json' -d "{\"token\":\"$token\"}")"

say "demo: a tenant gets a virtual key and calls the gateway like any OpenAI client"
G=http://127.0.0.1:8080
tenant="demo-$RANDOM"
curl -fsS -XPOST "$G/admin/v1/tenants" -H "Authorization: Bearer $FLOTILLA_GATEWAY_ADMIN_TOKEN" \
  -H 'Content-Type: application/json' -d "{\"id\":\"$tenant\"}" >/dev/null
key=$(curl -fsS -XPOST "$G/admin/v1/tenants/$tenant/keys" -H "Authorization: Bearer $FLOTILLA_GATEWAY_ADMIN_TOKEN" \
  -H 'Content-Type: application/json' -d '{"name":"demo","allowedModels":["*"]}' | sed -E 's/.*"key":"([^"]+)".*/\1/')
echo "models    -> $(curl -fsS "$G/v1/models" -H "Authorization: Bearer $key" | head -c 200)..."
curl -fsS -D "$STATE/headers" -o "$STATE/answer.json" "$G/v1/chat/completions" -H "Authorization: Bearer $key" \
  -H 'Content-Type: application/json' -d '{"model":"auto","messages":[{"role":"user","content":"Name one benefit of durable workflows."}]}'
echo "routed    -> $(grep -i '^x-flotilla-\(route\|provider\|model\|attempts\)' "$STATE/headers" | tr -d '\r' | tr '\n' ' ')"
echo "answer    -> $(cat "$STATE/answer.json")"
echo "streaming -> $(curl -fsS -N "$G/v1/chat/completions" -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
  -d '{"model":"fast","stream":true,"messages":[{"role":"user","content":"Stream three words."}]}' | grep -c '^data:') SSE events"

say "demo: the executor validates and stores examples/research-brief.yaml as an immutable revision"
echo "published -> $(curl -fsS -XPUT http://127.0.0.1:8081/api/v1/workflows/default/research-brief \
  -H 'Content-Type: application/yaml' --data-binary @examples/research-brief.yaml | head -c 160)..."
echo "a broken spec -> $(curl -sS -XPUT http://127.0.0.1:8081/api/v1/workflows/default/broken -H 'Content-Type: application/yaml' \
  --data-binary $'defaults: {model: fast}\nsteps: [{id: a, needs: [b], agent: {prompt: x}}, {id: b, needs: [a], agent: {prompt: y}}]')"
echo "(running a workflow end to end arrives with the executor's engine)"

say "Flotilla is running: registry :8082, gateway :8080, executor :8081 (logs in $LOGS). Ctrl-C stops it."
wait
