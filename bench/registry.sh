#!/usr/bin/env bash
# Registry heartbeat benchmark: starts the registry on the local PostgreSQL (a fresh database),
# registers AGENTS agents, then drives heartbeats with wrk and prints heartbeats/s and latency.
# Usage: bench/registry.sh [agents=1000] [connections=32] [seconds=20]
set -euo pipefail
cd "$(dirname "$0")/.."
AGENTS=${1:-1000}; CONNS=${2:-32}; SECS=${3:-20}
PORT=18082; DB=flotilla_bench_registry; WORK=$(mktemp -d)
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v psql >/dev/null || { echo "needs psql and a PostgreSQL on 127.0.0.1:5432"; exit 1; }

[ -f registry-service/target/quarkus-app/quarkus-run.jar ] || mvn -B -q package -DskipTests -pl registry-service -am
psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"

QUARKUS_HTTP_PORT=$PORT \
QUARKUS_DATASOURCE_JDBC_URL=jdbc:postgresql://127.0.0.1:5432/$DB \
QUARKUS_DATASOURCE_REACTIVE_URL=postgresql://127.0.0.1:5432/$DB \
QUARKUS_LOG_LEVEL=WARN \
  java -jar registry-service/target/quarkus-app/quarkus-run.jar >"$WORK/registry.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null; wait $PID 2>/dev/null; psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"; rm -rf "$WORK"' EXIT
for _ in $(seq 1 60); do curl -fs "http://127.0.0.1:$PORT/q/health/ready" >/dev/null && break; sleep 0.5; done

echo "registering $AGENTS agents..."
for i in $(seq 1 "$AGENTS"); do
  curl -fsS -XPOST "http://127.0.0.1:$PORT/api/v1/agents" -H 'Content-Type: application/json' \
    -d "{\"name\":\"bench\",\"kind\":\"agent\",\"namespace\":\"bench\",\"podName\":\"pod-$i\",\"ttlSeconds\":600}" \
    | sed -E 's/.*"id":"([^"]+)","token":"([^"]+)".*/\1 \2/'
  echo
done >"$WORK/agents.txt"

cat >"$WORK/heartbeat.lua" <<LUA
local agents = {}
for line in io.lines("$WORK/agents.txt") do
  local id, token = line:match("(%S+) (%S+)")
  agents[#agents + 1] = { id = id, token = token }
end
local n = 0
request = function()
  n = n + 1
  local a = agents[(n % #agents) + 1]
  return wrk.format("PUT", "/api/v1/agents/" .. a.id .. "/heartbeat", { ["Authorization"] = "Bearer " .. a.token }, "")
end
local non200 = 0
response = function(status) if status ~= 200 then non200 = non200 + 1 end end
LUA

echo "warm-up 5 s..."
wrk -t2 -c"$CONNS" -d5s -s "$WORK/heartbeat.lua" "http://127.0.0.1:$PORT" >/dev/null
echo "measuring $SECS s with $CONNS connections over $AGENTS registered agents:"
wrk -t2 -c"$CONNS" -d"${SECS}s" --latency -s "$WORK/heartbeat.lua" "http://127.0.0.1:$PORT" \
  | grep -E "Requests/sec|Non-2xx|Socket errors|^ +(50|75|90|99)%|Latency "
echo "rows: $(psql -h 127.0.0.1 -U postgres -d $DB -tAc 'SELECT count(*) FROM registry.agents WHERE expires_at > now()') live registrations"
