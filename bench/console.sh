#!/usr/bin/env bash
# Console benchmark: how long each page takes with 10,000 runs (30,000 steps) and 100,000 ledger
# rows in the database. Starts a registry, a gateway, an executor and the console on a fresh
# database of the local PostgreSQL, seeds the rows with SQL, signs in as the admin and as a tenant,
# and times every page with curl (after a warm-up): p50, p95 and max of ROUNDS loads each.
# Usage: bench/console.sh [runs=10000] [ledger-rows=100000] [rounds=30]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-10000}; LEDGER=${2:-100000}; ROUNDS=${3:-30}
RG=18382; GW=18380; EX=18381; CO=18384; DB=flotilla_bench_console; WORK=$(mktemp -d); ADMIN=bench-admin
command -v psql >/dev/null || { echo "needs psql and a PostgreSQL on 127.0.0.1:5432"; exit 1; }
for m in registry-service gateway-service executor-service console; do
  [ -f $m/target/quarkus-app/quarkus-run.jar ] || { mvn -B -q package -DskipTests; break; }
done
PSQL=(psql -h 127.0.0.1 -U postgres -qtA)
"${PSQL[@]}" -d test -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
PIDS=()
trap 'kill ${PIDS[*]} 2>/dev/null; wait 2>/dev/null; "${PSQL[@]}" -d test -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"; rm -rf "$WORK"' EXIT
export QUARKUS_DATASOURCE_JDBC_URL=jdbc:postgresql://127.0.0.1:5432/$DB QUARKUS_DATASOURCE_REACTIVE_URL=postgresql://127.0.0.1:5432/$DB
export QUARKUS_LOG_LEVEL=WARN
ready() { for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$1/q/health/ready" >/dev/null 2>&1 && return; sleep 0.5; done; echo "port $1 not ready"; exit 1; }

QUARKUS_HTTP_PORT=$RG FLOTILLA_REGISTRY_ADMIN_TOKEN=$ADMIN java -jar registry-service/target/quarkus-app/quarkus-run.jar >"$WORK/registry.log" 2>&1 & PIDS+=($!)
QUARKUS_HTTP_PORT=$GW FLOTILLA_GATEWAY_ADMIN_TOKEN=$ADMIN java -jar gateway-service/target/quarkus-app/quarkus-run.jar >"$WORK/gateway.log" 2>&1 & PIDS+=($!)
ready $RG; ready $GW
H=(-H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json')
for t in team-a team-b; do curl -fsS -XPOST "http://127.0.0.1:$GW/admin/v1/tenants" "${H[@]}" -d "{\"id\":\"$t\"}" >/dev/null; done
KEY_A=$(curl -fsS -XPOST "http://127.0.0.1:$GW/admin/v1/tenants/team-a/keys" "${H[@]}" -d '{"name":"bench","allowedModels":["*"],"runScopes":true}' | sed -E 's/.*"key":"([^"]+)".*/\1/')
for s in tenant:team-a tenant:team-b team:search team:support; do
  t=team-a; [ "$s" = tenant:team-b ] && t=team-b
  curl -fsS -XPUT "http://127.0.0.1:$GW/admin/v1/scopes/$s" "${H[@]}" -d "{\"tenant\":\"$t\",\"maxCostUsd\":500,\"rpm\":600}" >/dev/null
done
QUARKUS_HTTP_PORT=$EX FLOTILLA_EXECUTOR_ADMIN_TOKEN=$ADMIN FLOTILLA_EXECUTOR_GATEWAY_URL=http://127.0.0.1:$GW \
FLOTILLA_EXECUTOR_GATEWAY_API_KEY=$KEY_A FLOTILLA_EXECUTOR_GATEWAY_TENANT=team-a \
FLOTILLA_EXECUTOR_REGISTRY_URL=http://127.0.0.1:$RG FLOTILLA_EXECUTOR_REGISTRY_TOKEN=$ADMIN \
  java -jar executor-service/target/quarkus-app/quarkus-run.jar >"$WORK/executor.log" 2>&1 & PIDS+=($!)
ready $EX
for ns in team-a team-b; do
  curl -fsS -XPUT "http://127.0.0.1:$EX/api/v1/workflows/$ns/brief" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/yaml' \
    --data-binary @examples/research-brief.yaml >/dev/null
done

echo "seeding $RUNS runs (3 steps each) and $LEDGER ledger rows..."
"${PSQL[@]}" -d $DB <<SQL
INSERT INTO executor.runs (id, namespace, workflow, revision, input, status, output, tokens, cost_usd, created_at, finished_at)
SELECT gen_random_uuid(), ns, 'brief', w.revision, '{"topic": "tide pools"}',
       (ARRAY['succeeded','succeeded','succeeded','failed','cancelled'])[1 + i % 5],
       '"a brief about tide pools"', 1000 + i % 700, (1000 + i % 700) * 0.000002,
       now() - (i || ' minutes')::interval * 4, now() - (i || ' minutes')::interval * 4 + interval '40 seconds'
  FROM generate_series(1, $RUNS) i
  CROSS JOIN LATERAL (SELECT CASE WHEN i % 3 = 0 THEN 'team-b' ELSE 'team-a' END AS ns) n
  JOIN executor.workflows w ON w.namespace = n.ns AND w.name = 'brief';
INSERT INTO executor.steps (run_id, step_id, status, attempt, started_at, finished_at, output, tokens, cost_usd)
SELECT r.id, s, 'succeeded', 1, r.created_at, r.finished_at, '"a section"', r.tokens / 3, r.cost_usd / 3
  FROM executor.runs r CROSS JOIN unnest(ARRAY['outline', 'sections', 'review']) s;
INSERT INTO gateway.ledger (id, at, tenant_id, key_id, scopes, alias, provider, model, input_tokens, output_tokens, cost_micros, latency_ms, status, stream)
SELECT gen_random_uuid(), now() - ((i % (28 * 24 * 60)) || ' minutes')::interval,
       CASE WHEN i % 3 = 0 THEN 'team-b' ELSE 'team-a' END,
       ('00000000-0000-0000-0000-00000000000' || (i % 8))::uuid,
       ARRAY['tenant:' || CASE WHEN i % 3 = 0 THEN 'team-b' ELSE 'team-a' END, CASE WHEN i % 2 = 0 THEN 'team:search' ELSE 'team:support' END],
       (ARRAY['fast', 'smart'])[1 + i % 2], 'mock', (ARRAY['mock-fast', 'mock-smart'])[1 + i % 2],
       200 + i % 300, 50 + i % 100, 100 + i % 900, 20 + i % 200, 200, false
  FROM generate_series(1, $LEDGER) i;
ANALYZE;
SQL

QUARKUS_HTTP_PORT=$CO FLOTILLA_CONSOLE_GATEWAY_URL=http://127.0.0.1:$GW FLOTILLA_CONSOLE_GATEWAY_ADMIN_TOKEN=$ADMIN \
FLOTILLA_CONSOLE_EXECUTOR_URL=http://127.0.0.1:$EX FLOTILLA_CONSOLE_EXECUTOR_ADMIN_TOKEN=$ADMIN \
FLOTILLA_CONSOLE_REGISTRY_URL=http://127.0.0.1:$RG FLOTILLA_CONSOLE_REGISTRY_ADMIN_TOKEN=$ADMIN \
  java -jar console/target/quarkus-app/quarkus-run.jar >"$WORK/console.log" 2>&1 & PIDS+=($!)
ready $CO
RUN=$("${PSQL[@]}" -d $DB -c "SELECT id FROM executor.runs WHERE namespace = 'team-a' ORDER BY created_at DESC LIMIT 1")
signin() { curl -fsS -o /dev/null -c "$WORK/$1.jar" -XPOST "http://127.0.0.1:$CO/login" --data-urlencode "token=$2"; }
signin admin "$ADMIN"; signin tenant "$KEY_A"

worst=0
printf '%-8s %-28s %8s %8s %8s\n' viewer page p50_ms p95_ms max_ms
for who in admin tenant; do
  for page in /spend /scopes /runs "/runs?status=failed" "/runs/$RUN" /workflows /workflows/team-a/brief /agents /providers; do
    url="http://127.0.0.1:$CO$page"
    for _ in $(seq 1 5); do curl -fsS -o /dev/null -b "$WORK/$who.jar" "$url"; done
    for _ in $(seq 1 "$ROUNDS"); do curl -fsS -o /dev/null -b "$WORK/$who.jar" -w '%{time_total}\n' "$url"; done | sort -n >"$WORK/t"
    p50=$(awk -v n="$ROUNDS" 'NR == int(n * 0.5 + 0.5) {printf "%.1f", $1 * 1000}' "$WORK/t")
    p95=$(awk -v n="$ROUNDS" 'NR == int(n * 0.95 + 0.5) {printf "%.1f", $1 * 1000}' "$WORK/t")
    max=$(tail -1 "$WORK/t" | awk '{printf "%.1f", $1 * 1000}')
    printf '%-8s %-28s %8s %8s %8s\n' "$who" "${page:0:28}" "$p50" "$p95" "$max"
    worst=$(awk -v a="$worst" -v b="$p95" 'BEGIN {print (b > a) ? b : a}')
  done
done
echo "rows: $("${PSQL[@]}" -d $DB -c "SELECT (SELECT count(*) FROM executor.runs) || ' runs, ' || (SELECT count(*) FROM executor.steps) || ' steps, ' || (SELECT count(*) FROM gateway.ledger) || ' ledger rows'")"
echo "worst p95: $worst ms (aim: every page under 300 ms)"
awk -v w="$worst" 'BEGIN {exit (w < 300) ? 0 : 1}'
