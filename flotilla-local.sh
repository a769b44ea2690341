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
# the first value of a key in a JSON text (the run's own fields come before its steps'): json KEY TEXT
json() { { grep -oE "\"$1\":(\"([^\"\\\\]|\\\\.)*\"|[-0-9.eE]+|true|false)" <<<"$2" || true; } | head -1 | sed -E "s/^\"$1\"://; s/^\"(.*)\"$/\\1/"; }

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
# a fresh 256-bit token per run unless one is given; every service listens on 127.0.0.1 only
token() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
export FLOTILLA_REGISTRY_ADMIN_TOKEN="${FLOTILLA_REGISTRY_ADMIN_TOKEN:-$(token)}"
export FLOTILLA_GATEWAY_ADMIN_TOKEN="${FLOTILLA_GATEWAY_ADMIN_TOKEN:-$(token)}"
export FLOTILLA_EXECUTOR_ADMIN_TOKEN="${FLOTILLA_EXECUTOR_ADMIN_TOKEN:-$(token)}"
export QUARKUS_HTTP_HOST=127.0.0.1
(umask 077; printf 'export FLOTILLA_GATEWAY_ADMIN_TOKEN=%s FLOTILLA_EXECUTOR_ADMIN_TOKEN=%s FLOTILLA_REGISTRY_ADMIN_TOKEN=%s\n' \
  "$FLOTILLA_GATEWAY_ADMIN_TOKEN" "$FLOTILLA_EXECUTOR_ADMIN_TOKEN" "$FLOTILLA_REGISTRY_ADMIN_TOKEN" >"$STATE/tokens.env")
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
G=http://127.0.0.1:8080
admin=(-H "Authorization: Bearer $FLOTILLA_GATEWAY_ADMIN_TOKEN" -H 'Content-Type: application/json')
tenant="local-$RANDOM"
curl -fsS -XPOST "$G/admin/v1/tenants" "${admin[@]}" -d "{\"id\":\"$tenant\"}" >/dev/null
key=$(json key "$(curl -fsS -XPOST "$G/admin/v1/tenants/$tenant/keys" "${admin[@]}" -d '{"name":"executor","allowedModels":["*"],"runScopes":true}')")
echo "gateway: tenant $tenant with a virtual key for the executor (not printed)"
export FLOTILLA_EXECUTOR_GATEWAY_URL=$G FLOTILLA_EXECUTOR_GATEWAY_API_KEY=$key FLOTILLA_EXECUTOR_GATEWAY_TENANT=$tenant
export FLOTILLA_EXECUTOR_REGISTRY_URL=http://127.0.0.1:8082 FLOTILLA_EXECUTOR_REGISTRY_TOKEN=$FLOTILLA_REGISTRY_ADMIN_TOKEN
# the tools of examples/support-desk.yaml call a local inventory service: allow exactly that host
# and address (tools reach public addresses only otherwise); its token reaches the executor as a
# FLOTILLA_TOOL_* variable, the only ones a workflow may name
export INVENTORY_TOKEN="$(token)"
export FLOTILLA_TOOL_INVENTORY_TOKEN=$INVENTORY_TOKEN
export FLOTILLA_EXECUTOR_TOOLS_ALLOWED_HOSTS=127.0.0.1 FLOTILLA_EXECUTOR_TOOLS_ALLOWED_ADDRESSES=127.0.0.1/32
java examples/tools/Inventory.java 8090 >"$LOGS/inventory.log" 2>&1 &
PIDS+=($!)
start executor-service 8081
for _ in $(seq 1 30); do grep -q '^READY ' "$LOGS/inventory.log" && break; sleep 1; done
grep -q '^READY ' "$LOGS/inventory.log" || { echo "the inventory service did not start; see $LOGS/inventory.log"; exit 1; }
echo "inventory service ready on :8090 (log: $LOGS/inventory.log)"
E=http://127.0.0.1:8081/api/v1
exe=(-H "Authorization: Bearer $FLOTILLA_EXECUTOR_ADMIN_TOKEN")

# prints a run's events as they happen, until it ends: follow RUN_ID
follow() {
  curl -fsS -N "${exe[@]}" "$E/runs/$1/events" | while IFS= read -r line; do
    case "$line" in
      data:*)
        d=${line#data:}
        step=$(json step "$d"); item=$(json item "$d"); type=$(json type "$d")
        printf '  %-15s %-18s' "$type" "${step}${item:+[$item]}"
        case "$type" in
          step.succeeded)
            if [ -n "$(json tokens "$d")" ]; then printf 'tokens %-6s cost $%.6f' "$(json tokens "$d")" "$(json costUsd "$d")"
            else printf 'joined %s items' "$(json items "$d")"; fi ;;
          step.iteration) printf '%s iterations done, looping' "$(json iterations "$d")" ;;
          step.fanout) printf '%s items, %s at a time' "$(json items "$d")" "$(json maxParallel "$d")" ;;
          step.waiting) printf 'sleeps until %s' "$(json until "$d")" ;;
          step.approved|step.rejected) printf 'by %s' "$(json by "$d")" ;;
          step.awaiting_approval) printf 'waits for a decision' ;;
          step.retrying|step.failed|run.failed) printf '%s' "$(json error "$d")$(json reason "$d")" ;;
        esac
        echo ;;
    esac
  done
}

# waits for a run's step "approve", approves it through the API, and follows the run: approve_and_follow RUN_ID
approve_and_follow() {
  echo "run $1 started; waiting for its approval step"
  for _ in $(seq 1 120); do
    curl -fsS "${exe[@]}" "$E/runs/$1" | grep -q '"status":"awaiting_approval"' && break; sleep 0.5
  done
  curl -fsS -XPOST "$E/runs/$1/steps/approve/approve" "${exe[@]}" -H 'Content-Type: application/json' \
    -d '{"by":"local-demo","comment":"approved by flotilla-local.sh"}'
  echo "approved as local-demo (POST /api/v1/runs/$1/steps/approve/approve); progress:"
  follow "$1"
}

say "the main job: examples/research-brief.yaml, end to end"
published=$(curl -fsS -XPUT "$E/workflows/default/research-brief" "${exe[@]}" -H 'Content-Type: application/yaml' \
  --data-binary @examples/research-brief.yaml)
echo "published revision $(json revision "$published") of default/research-brief"
topic="${FLOTILLA_TOPIC:-tide pools}"
run=$(curl -fsS -XPOST "$E/runs" "${exe[@]}" -H 'Content-Type: application/json' \
  -d "{\"workflow\":\"default/research-brief\",\"input\":{\"topic\":\"$topic\"}}")
id=$(json id "$run")
echo "run $id started (topic: $topic); progress:"
follow "$id"
result=$(curl -fsS "${exe[@]}" "$E/runs/$id")
status=$(json status "$result")
printf 'status: %s, tokens: %s, cost: $%.6f\n' "$status" "$(json tokens "$result")" "$(json costUsd "$result")"
printf 'result:\n%b\n' "$(json output "$result" | sed 's/\\"/"/g')$(json reason "$result")"
[ "$status" = succeeded ] || echo "the run did not succeed; see $LOGS/executor-service.log"

say "a gated release: examples/release-gate.yaml (an approval, then a durable timer)"
curl -fsS -XPUT "$E/workflows/default/release-gate" "${exe[@]}" -H 'Content-Type: application/yaml' \
  --data-binary @examples/release-gate.yaml >/dev/null
gate=$(json id "$(curl -fsS -XPOST "$E/runs" "${exe[@]}" -H 'Content-Type: application/json' \
  -d '{"workflow":"default/release-gate","input":{"change":"tide tables load twice as fast"}}')")
approve_and_follow "$gate"
echo "status: $(json status "$(curl -fsS "${exe[@]}" "$E/runs/$gate")")"

say "a support answer: examples/support-desk.yaml (a tool step, an agent calling the tool, an approval, a sub-workflow)"
for wf in reply-polish support-desk; do
  curl -fsS -XPUT "$E/workflows/default/$wf" "${exe[@]}" -H 'Content-Type: application/yaml' \
    --data-binary @"examples/$wf.yaml" >/dev/null
done
desk=$(json id "$(curl -fsS -XPOST "$E/runs" "${exe[@]}" -H 'Content-Type: application/json' \
  -d '{"workflow":"default/support-desk","input":{"question":"Can I get two kelp kits this week?","sku":"kelp-kit"}}')")
approve_and_follow "$desk"
deskRun=$(curl -fsS "${exe[@]}" "$E/runs/$desk")
printf 'status: %s, tokens: %s (the child run'"'"'s included), cost: $%.6f\n' "$(json status "$deskRun")" "$(json tokens "$deskRun")" "$(json costUsd "$deskRun")"
echo "the inventory service saw:"; grep -v '^READY' "$LOGS/inventory.log" | sed 's/^/  /'

say "the web console"
export FLOTILLA_CONSOLE_GATEWAY_ADMIN_TOKEN=$FLOTILLA_GATEWAY_ADMIN_TOKEN FLOTILLA_CONSOLE_EXECUTOR_ADMIN_TOKEN=$FLOTILLA_EXECUTOR_ADMIN_TOKEN \
  FLOTILLA_CONSOLE_REGISTRY_ADMIN_TOKEN=$FLOTILLA_REGISTRY_ADMIN_TOKEN
start console 8084
echo "open http://127.0.0.1:8084 and sign in with the gateway's admin token (FLOTILLA_GATEWAY_ADMIN_TOKEN in $STATE/tokens.env)"
echo "  or with a virtual key of a tenant, which then sees only its own spend, scopes and runs"

say "Flotilla is running: registry :8082, gateway :8080, executor :8081, console :8084 (logs in $LOGS). Ctrl-C stops it."
echo "admin tokens (not printed): source $STATE/tokens.env (readable by you only)"
echo "try: curl -s -H \"Authorization: Bearer \$FLOTILLA_EXECUTOR_ADMIN_TOKEN\" $E/runs/$id | head -c 600; curl -s http://127.0.0.1:8081/q/metrics | grep flotilla_executor"
wait
