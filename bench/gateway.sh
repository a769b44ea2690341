#!/usr/bin/env bash
# Gateway overhead benchmark: a fast fake OpenAI upstream, then in ONE run, interleaved, the same
# non-streaming load sent directly to the upstream, through a gateway with governance off, and
# through a gateway with governance on (key, tenant and model scopes with RPM/TPM limits and a
# budget, reservations, settlement, ledger), and through a third with governance on and tracing
# on (spans batch-exported over OTLP/HTTP to a local receiver), at 1 and 64 connections. The
# gateways share one Postgres; each JVM is warmed for 30 s first. Prints throughput and p50/p99 of
# each, and the ratios.
# Usage: bench/gateway.sh [seconds-per-round=10] [rounds=3]
#        SOAK=300 bench/gateway.sh ...   then also governance on for 300 s at 64 connections, one
#                                        figure a minute, and the last minute over the first
#        ALTERNATE=3 bench/gateway.sh ...  then also 3 pairs of fresh JVMs, one gateway at a time
#                                        (governance off, on, on and traced), ratios per pair
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}; ROUNDS=${2:-3}
UP=18090; GW=18080; GW_OFF=18081; GW_TRACE=18082; OTLP=18318; DB=flotilla_bench_gateway; WORK=$(mktemp -d); ADMIN=bench-admin
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
command -v psql >/dev/null || { echo "needs psql and a PostgreSQL on 127.0.0.1:5432"; exit 1; }
[ -f gateway-service/target/quarkus-app/quarkus-run.jar ] || mvn -B -q package -DskipTests -pl gateway-service -am
mvn -B -q dependency:build-classpath -pl gateway-service -Dmdep.outputFile="$WORK/cp" >/dev/null
psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"

PIDS=()
trap 'kill ${PIDS[*]} 2>/dev/null; wait 2>/dev/null; psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)"; rm -rf "$WORK"' EXIT
java -cp "$(cat "$WORK/cp")" bench/FakeOpenAi.java $UP >"$WORK/fake.log" 2>&1 & PIDS+=($!)
cat >"$WORK/routes.yaml" <<YAML
providers:
  upstream: {type: openai, baseUrl: http://127.0.0.1:$UP/v1}
routes:
  bench: {targets: [{provider: upstream, model: bench-model, contextWindow: 128000}]}
YAML
# a local OTLP/HTTP receiver that accepts every export (an empty ExportTraceServiceResponse)
java -cp "$(cat "$WORK/cp")" bench/OtlpSink.java $OTLP >"$WORK/otlp.log" 2>&1 & PIDS+=($!)
TRACED=(QUARKUS_OTEL_SDK_DISABLED=false QUARKUS_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://127.0.0.1:$OTLP
        QUARKUS_OTEL_EXPORTER_OTLP_TRACES_PROTOCOL=http/protobuf)
UNGOVERNED=(FLOTILLA_GATEWAY_GOVERNANCE_ENABLED=false)
start_gateway() { # port [env...] -> a gateway JVM answering on port, its pid in $STARTED
  local port=$1; shift
  env "$@" QUARKUS_HTTP_PORT="$port" QUARKUS_LOG_LEVEL=WARN \
    QUARKUS_DATASOURCE_JDBC_URL=jdbc:postgresql://127.0.0.1:5432/$DB QUARKUS_DATASOURCE_REACTIVE_URL=postgresql://127.0.0.1:5432/$DB \
    FLOTILLA_GATEWAY_ROUTES_FILE="$WORK/routes.yaml" FLOTILLA_GATEWAY_ADMIN_TOKEN=$ADMIN \
    java -jar gateway-service/target/quarkus-app/quarkus-run.jar >>"$WORK/gateway-$port.log" 2>&1 & STARTED=$!; PIDS+=($STARTED)
  for _ in $(seq 1 60); do curl -fs "http://127.0.0.1:$port/q/health/ready" >/dev/null 2>&1 && return; sleep 0.5; done
  echo "the gateway on $port did not start: $(tail -3 "$WORK/gateway-$port.log")" >&2; exit 1
}
# a graceful stop returns every slice and writes every queued ledger row
stop_gateways() { local pid; kill -TERM "$@"; for pid in "$@"; do while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done; done; }
start_gateway $GW; GOVERNED=($STARTED)
start_gateway $GW_OFF "${UNGOVERNED[@]}"; UNGOVERNED_PID=$STARTED
start_gateway $GW_TRACE "${TRACED[@]}"; GOVERNED+=($STARTED)
for _ in $(seq 1 60); do grep -q READY "$WORK/fake.log" && grep -q READY "$WORK/otlp.log" && break; sleep 0.5; done

curl -fsS -XPOST "http://127.0.0.1:$GW/admin/v1/tenants" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' -d '{"id":"bench"}' >/dev/null
NEWKEY=$(curl -fsS -XPOST "http://127.0.0.1:$GW/admin/v1/tenants/bench/keys" -H "Authorization: Bearer $ADMIN" \
  -H 'Content-Type: application/json' -d '{"name":"bench","allowedModels":["bench"]}')
KEY=$(sed -E 's/.*"key":"([^"]+)".*/\1/' <<<"$NEWKEY"); KEY_ID=$(sed -E 's/.*"id":"([^"]+)".*/\1/' <<<"$NEWKEY")
scope() { curl -fsS -XPUT "http://127.0.0.1:$GW/admin/v1/scopes/$1" -H "Authorization: Bearer $ADMIN" \
  -H 'Content-Type: application/json' -d "$2" >/dev/null; }
# limits high enough never to refuse, so every request does the full reserve/settle work
scope "tenant:bench" '{"tenant":"bench","maxTokens":100000000000,"maxCostUsd":1000000,"rpm":100000000,"tpm":2000000000}'
scope "key:$KEY_ID" '{"tenant":"bench","rpm":100000000,"tpm":2000000000}'
scope "model:bench/bench" '{"tenant":"bench","rpm":100000000,"tpm":2000000000}'

cat >"$WORK/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"model":"MODEL","messages":[{"role":"user","content":"Give me a short answer about fleets of agents."}],"max_tokens":64}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer KEY"
LUA
sed "s/MODEL/bench-model/; s/KEY/none/" "$WORK/post.lua" >"$WORK/direct.lua"
sed "s/MODEL/bench/; s/KEY/$KEY/" "$WORK/post.lua" >"$WORK/gateway.lua"

# stops the run at the first refused request, with what the gateways logged
valid() { [ ! -f "$WORK/invalid" ] || { grep -h '"level":"\(WARN\|ERROR\)"' "$WORK"/gateway-*.log | tail -3 >&2; exit 1; }; }
run() { # name url script conns -> "rps p50ms p99ms"
  wrk -t"$([ "$4" -gt 1 ] && echo 2 || echo 1)" -c"$4" -d"${SECS}s" --latency -s "$3" "$2" 2>"$WORK/err" >"$WORK/out"
  [ -s "$WORK/err" ] && { echo "$1: $(cat "$WORK/err")" >&2; }
  # a refusal is fast: one non-200 answer makes every figure of the run meaningless
  if grep -q "Non-2xx" "$WORK/out"; then
    echo "$1: $(grep "Non-2xx" "$WORK/out") — not a valid measurement" >&2; touch "$WORK/invalid"
  fi
  awk '/Requests\/sec/ {rps=$2} /^ +50%/ {p50=$2} /^ +99%/ {p99=$2}
       function ms(v) { if (v ~ /us$/) return v/1000; if (v ~ /ms$/) return v+0; if (v ~ /s$/) return v*1000; return v }
       END {printf "%.0f %.3f %.3f\n", rps, ms(p50), ms(p99)}' "$WORK/out"
}

for port in $GW $GW_OFF $GW_TRACE; do # each gateway answers before anything is measured
  curl -fsS -o /dev/null "http://127.0.0.1:$port/v1/chat/completions" -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d '{"model":"bench","messages":[{"role":"user","content":"check"}],"max_tokens":64}' || { echo "gateway on $port refused the check request" >&2; exit 1; }
done
echo "warm-up (30 s per JVM)..."
wrk -t1 -c8 -d10s -s "$WORK/direct.lua" "http://127.0.0.1:$UP/v1/chat/completions" >/dev/null
for port in $GW $GW_OFF $GW_TRACE; do
  wrk -t2 -c32 -d30s -s "$WORK/gateway.lua" "http://127.0.0.1:$port/v1/chat/completions" >/dev/null
done

for c in 1 64; do
  for r in $(seq 1 "$ROUNDS"); do
    echo "direct  c=$c round=$r $(run direct "http://127.0.0.1:$UP/v1/chat/completions" "$WORK/direct.lua" $c)" | tee -a "$WORK/results"; valid
    echo "gov-off c=$c round=$r $(run gov-off "http://127.0.0.1:$GW_OFF/v1/chat/completions" "$WORK/gateway.lua" $c)" | tee -a "$WORK/results"; valid
    echo "gov-on  c=$c round=$r $(run gov-on "http://127.0.0.1:$GW/v1/chat/completions" "$WORK/gateway.lua" $c)" | tee -a "$WORK/results"; valid
    echo "traced  c=$c round=$r $(run traced "http://127.0.0.1:$GW_TRACE/v1/chat/completions" "$WORK/gateway.lua" $c)" | tee -a "$WORK/results"; valid
  done
done
echo
# the median of a[k, 1..m], for both summaries' awk programs
MEDIAN='function med(a, k, m,   i,j,t,v) { for (i=1;i<=m;i++) v[i]=a[k,i]; for (i=1;i<=m;i++) for (j=i+1;j<=m;j++) if (v[j]<v[i]) {t=v[i];v[i]=v[j];v[j]=t}; return v[int((m+1)/2)] }'
echo "medians over $ROUNDS interleaved rounds of ${SECS}s (rps, p50 ms, p99 ms):"
for c in 1 64; do
  awk -v c="c=$c" "$MEDIAN"'
    $2==c {n[$1]++; rps[$1,n[$1]]=$4; p50[$1,n[$1]]=$5; p99[$1,n[$1]]=$6}
    END { m=n["direct"];
      printf "%s direct %6.0f rps p50 %.3f p99 %.3f | gateway (governance off) %6.0f rps p50 %.3f p99 %.3f | gateway (governance on) %6.0f rps p50 %.3f p99 %.3f\n",
        c, med(rps,"direct",m), med(p50,"direct",m), med(p99,"direct",m), med(rps,"gov-off",m), med(p50,"gov-off",m), med(p99,"gov-off",m),
        med(rps,"gov-on",m), med(p50,"gov-on",m), med(p99,"gov-on",m);
      printf "%s   gateway/direct %.2f, added p50 %.3f ms, added p99 %.3f ms | governance on/off %.2f, added p50 %.3f ms, added p99 %.3f ms\n",
        c, med(rps,"gov-off",m)/med(rps,"direct",m), med(p50,"gov-off",m)-med(p50,"direct",m), med(p99,"gov-off",m)-med(p99,"direct",m),
        med(rps,"gov-on",m)/med(rps,"gov-off",m), med(p50,"gov-on",m)-med(p50,"gov-off",m), med(p99,"gov-on",m)-med(p99,"gov-off",m);
      printf "%s   tracing on (governance on) %6.0f rps p50 %.3f p99 %.3f | tracing on/off %.2f, added p50 %.3f ms\n",
        c, med(rps,"traced",m), med(p50,"traced",m), med(p99,"traced",m),
        med(rps,"traced",m)/med(rps,"gov-on",m), med(p50,"traced",m)-med(p50,"gov-on",m) }' "$WORK/results"
done
if [ -n "${SOAK:-}" ]; then
  echo "soak: governance on, 64 connections, ${SOAK}s, one figure a minute"
  for m in $(seq 1 $(( SOAK / 60 ))); do
    echo "minute $m $(SECS=60 run soak "http://127.0.0.1:$GW/v1/chat/completions" "$WORK/gateway.lua" 64)" | tee -a "$WORK/soak"; valid
  done
  awk 'NR==1 {first=$3} {last=$3} END {printf "soak: first minute %d rps, last minute %d rps, last/first %.2f\n", first, last, last/first}' "$WORK/soak"
fi
TRACED_REQUESTS=$(curl -fs "http://127.0.0.1:$GW_TRACE/q/metrics" | awk '/^http_server_requests_seconds_count/ && /uri="\/v1\/chat\/completions"/ {n += $2} END {printf "%d", n}')
echo "slices leased by the governed gateway: $(curl -fs "http://127.0.0.1:$GW/q/metrics" | awk '/^flotilla_gateway_governance_slices_leased_total/ {print $2}')"
stop_gateways "${GOVERNED[@]}"
echo "the traced gateway served $TRACED_REQUESTS requests (one span each, more for a failed upstream call); the receiver got $(curl -fs "http://127.0.0.1:$OTLP/")"
books() { psql -h 127.0.0.1 -U postgres -d $DB -tAc "SELECT format('tenant:bench charged %s tokens, %s still reserved; ledger %s rows (by status: %s) holding %s tokens; agree: %s',
    s.used_tokens, s.reserved_tokens, l.n, l.statuses, l.tokens, s.used_tokens = l.tokens AND s.reserved_tokens = 0)
  FROM gateway.scopes s, (SELECT count(*) n, sum(input_tokens + output_tokens) tokens,
    (SELECT string_agg(status || ': ' || c, ', ') FROM (SELECT status, count(*) c FROM gateway.ledger GROUP BY status) x) statuses FROM gateway.ledger) l
  WHERE s.scope = 'tenant:bench'"; }
echo "after both governed gateways stopped: $(books)"

if [ -n "${ALTERNATE:-}" ]; then
  # JVMs of one build differ here by up to a fifth in throughput, and three gateways alive at once
  # share the box: so, again, one gateway at a time, a fresh JVM per configuration and pair, each
  # warmed 60 s, then $ROUNDS rounds at 64 connections; the ratios are taken within each pair.
  stop_gateways "$UNGOVERNED_PID"
  echo "alternating: $ALTERNATE pairs, one gateway at a time (governance off, on, on and traced)"
  for p in $(seq 1 "$ALTERNATE"); do
    for config in gov-off gov-on traced; do
      case $config in gov-off) start_gateway $GW "${UNGOVERNED[@]}";; gov-on) start_gateway $GW;; traced) start_gateway $GW "${TRACED[@]}";; esac
      wrk -t2 -c32 -d60s -s "$WORK/gateway.lua" "http://127.0.0.1:$GW/v1/chat/completions" >/dev/null
      for r in $(seq 1 "$ROUNDS"); do
        echo "$config pair=$p round=$r $(run $config "http://127.0.0.1:$GW/v1/chat/completions" "$WORK/gateway.lua" 64)" | tee -a "$WORK/alternate"; valid
      done
      stop_gateways "$STARTED"
    done
  done
  awk "$MEDIAN"'
    {split($2, pp, "="); k = $1 SUBSEP pp[2]; n[k]++; rps[k, n[k]] = $4; pairs[pp[2]] = 1}
    function pm(config, p) { return med(rps, config SUBSEP p, n[config SUBSEP p]) }
    END { for (p in pairs) printf "pair %s medians: governance off %d rps, on %d, on and traced %d | governance on/off %.2f | tracing on/off %.2f\n",
      p, pm("gov-off", p), pm("gov-on", p), pm("traced", p), pm("gov-on", p) / pm("gov-off", p), pm("traced", p) / pm("gov-on", p) }' "$WORK/alternate" | sort
  echo "after the alternating gateways stopped: $(books)"
fi
