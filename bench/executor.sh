#!/usr/bin/env bash
# Executor benchmark: steps per second and the engine's overhead per step, against the gateway's
# mock provider with zero latency. In ONE run it measures a baseline — the same number of chat
# completions sent straight to the gateway at the executor's concurrency — and then the executor
# running RUNS runs of a workflow of STEPS independent agent steps (each step: claim, context
# read, gateway call, checkpoint commit, DAG advance).
# Usage: [FANOUT=items] bench/executor.sh [runs=300] [steps-per-run=10] [concurrency=32]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-300}; STEPS=${2:-10}; CONC=${3:-32}
GW=18280; EX=18281; DB=flotilla_bench_executor; WORK=$(mktemp -d); ADMIN=bench-admin
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v psql >/dev/null || { echo "needs psql and a PostgreSQL on 127.0.0.1:5432"; exit 1; }
[ -f executor-service/target/quarkus-app/quarkus-run.jar ] && [ -f gateway-service/target/quarkus-app/quarkus-run.jar ] \
  || mvn -B -q package -DskipTests
PSQL=(psql -h 127.0.0.1 -U postgres -qtA)
"${PSQL[@]}" -d test -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
PIDS=()
trap 'kill ${PIDS[*]} 2>/dev/null; wait 2>/dev/null; "${PSQL[@]}" -d test -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"; rm -rf "$WORK"' EXIT
export QUARKUS_DATASOURCE_JDBC_URL=jdbc:postgresql://127.0.0.1:5432/$DB QUARKUS_DATASOURCE_REACTIVE_URL=postgresql://127.0.0.1:5432/$DB
export QUARKUS_LOG_LEVEL=WARN

ready() { for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$1/q/health/ready" >/dev/null 2>&1 && return; sleep 0.5; done; echo "port $1 not ready"; exit 1; }
QUARKUS_HTTP_PORT=$GW FLOTILLA_GATEWAY_ADMIN_TOKEN=$ADMIN java -jar gateway-service/target/quarkus-app/quarkus-run.jar >"$WORK/gateway.log" 2>&1 & PIDS+=($!)
ready $GW
curl -fsS -XPOST "http://127.0.0.1:$GW/admin/v1/tenants" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d '{"id":"bench"}' >/dev/null
KEY=$(curl -fsS -XPOST "http://127.0.0.1:$GW/admin/v1/tenants/bench/keys" -H "Authorization: Bearer $ADMIN" \
  -H 'Content-Type: application/json' -d '{"name":"bench","allowedModels":["*"]}' | sed -E 's/.*"key":"([^"]+)".*/\1/')
QUARKUS_HTTP_PORT=$EX FLOTILLA_EXECUTOR_GATEWAY_URL=http://127.0.0.1:$GW FLOTILLA_EXECUTOR_GATEWAY_API_KEY=$KEY \
FLOTILLA_EXECUTOR_GATEWAY_TENANT=bench FLOTILLA_EXECUTOR_CONCURRENCY=$CONC FLOTILLA_EXECUTOR_GATEWAY_MAX_TOKENS=64 \
  java ${EXECUTOR_JAVA_OPTS:-} -jar executor-service/target/quarkus-app/quarkus-run.jar >"$WORK/executor.log" 2>&1 & PIDS+=($!)
ready $EX

# the same request an agent step makes: a short prompt, max_tokens 64, on the mock's zero-latency "fast" route
cat >"$WORK/chat.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"model":"fast","messages":[{"role":"user","content":"bench 1 step s1"}],"max_tokens":64}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $KEY"
LUA
echo "warm-up..."
wrk -t"$(( CONC < 2 ? 1 : 2 ))" -c"$CONC" -d5s -s "$WORK/chat.lua" "http://127.0.0.1:$GW/v1/chat/completions" >/dev/null
BASE=$(wrk -t"$(( CONC < 2 ? 1 : 2 ))" -c"$CONC" -d10s -s "$WORK/chat.lua" "http://127.0.0.1:$GW/v1/chat/completions" | awk '/Requests\/sec/ {printf "%.0f", $2}')
echo "baseline: gateway alone, $CONC connections: $BASE chat completions/s"

{ echo "defaults: {model: fast}"; echo "steps:"
  for i in $(seq 1 "$STEPS"); do echo "  - {id: s$i, agent: {prompt: \"bench {{input.n}} step s$i\"}}"; done; } >"$WORK/wide.yaml"
curl -fsS -XPUT "http://127.0.0.1:$EX/api/v1/workflows/bench/wide" -H 'Content-Type: application/yaml' --data-binary @"$WORK/wide.yaml" >/dev/null
run_batch() { # n-runs
  java bench/StartRuns.java "http://127.0.0.1:$EX" bench/wide "$1" 16
  for _ in $(seq 1 1200); do
    [ "$("${PSQL[@]}" -d $DB -c "SELECT count(*) FROM executor.runs WHERE status = 'running'")" = 0 ] && return; sleep 0.25
  done
  echo "runs did not finish"; exit 1
}
echo "warm-up runs..."
run_batch 100
"${PSQL[@]}" -d $DB -c "DELETE FROM executor.runs"
run_batch "$RUNS"
read -r DONE SECS FAILED < <("${PSQL[@]}" -F' ' -d $DB -c "SELECT count(*) FILTER (WHERE r.status = 'succeeded'),
  extract(epoch FROM max(r.finished_at) - min(r.created_at)), count(*) FILTER (WHERE r.status <> 'succeeded') FROM executor.runs r")
TOTAL=$((DONE * STEPS))
SPS=$(awk -v n="$TOTAL" -v s="$SECS" 'BEGIN {printf "%.0f", n / s}')
Q() { curl -fsS "http://127.0.0.1:$EX/q/metrics" | awk -v q="$1" '$0 ~ "^flotilla_executor_step_overhead_seconds\\{quantile=\"" q "\"" {printf "%.2f", $2 * 1000}'; }
echo "executor: $DONE runs x $STEPS steps = $TOTAL steps in ${SECS}s: $SPS steps/s ($FAILED runs not succeeded)"
echo "checkpoint overhead per step (context read + commit + DAG advance, besides the LLM call): p50 $(Q 0.5) ms, p99 $(Q 0.99) ms"
echo "ratio: executor steps/s / gateway-alone calls/s = $(awk -v a="$SPS" -v b="$BASE" 'BEGIN {printf "%.2f", a / b}')"

# optional: one run fanning out over FANOUT items (maxParallel 32): a single run's commits all take its row lock
if [ "${FANOUT:-0}" -gt 0 ]; then
  printf 'defaults: {model: fast}\nsteps:\n  - {id: fan, foreach: input.items, maxParallel: 32, agent: {prompt: "bench {{item}}"}}\n' >"$WORK/fan.yaml"
  curl -fsS -XPUT "http://127.0.0.1:$EX/api/v1/workflows/bench/fan" -H 'Content-Type: application/yaml' --data-binary @"$WORK/fan.yaml" >/dev/null
  ID=$(curl -fsS -XPOST "http://127.0.0.1:$EX/api/v1/runs" -H 'Content-Type: application/json' \
    -d "{\"workflow\":\"bench/fan\",\"input\":{\"items\":[$(seq -s, 1 "$FANOUT")]}}" | sed -E 's/.*"id":"([^"]+)".*/\1/')
  for _ in $(seq 1 2400); do
    [ "$("${PSQL[@]}" -d $DB -c "SELECT status FROM executor.runs WHERE id = '$ID'")" != running ] && break; sleep 0.25
  done
  "${PSQL[@]}" -F' ' -d $DB -c "SELECT 'fan-out: $FANOUT items', status, 'in', round(extract(epoch FROM finished_at - created_at)::numeric, 1),
    's:', round($FANOUT / extract(epoch FROM finished_at - created_at)) AS rate, 'items/s' FROM executor.runs WHERE id = '$ID'"
fi
