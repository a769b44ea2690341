package io.flotilla.gateway.governance;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.gateway.config.GatewayConfig;
import io.flotilla.gateway.key.Keys;
import io.flotilla.gateway.openai.OpenAiError;
import io.flotilla.gateway.openai.RateHeaders;
import io.flotilla.gateway.route.Routes;
import io.flotilla.gateway.route.Target;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.UniEmitter;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;

/**
 * Reserves before the upstream call and settles after it, against every scope of the request's
 * chain (key, tenant, model of the tenant, and the named budget scope with its ancestors), in
 * Postgres functions that lock the scope rows: limits hold across any number of replicas. Requests
 * are admitted within a leased slice of the chain's headroom when one fits ({@link Slices}), else
 * reserved one by one.
 */
@Singleton
public class Governor {

    private static final Logger LOG = Logger.getLogger(Governor.class);

    private final Pool pool;
    private final GatewayConfig.Governance config;
    private final MeterRegistry meters;
    private final Vertx vertx;
    private final AtomicInteger degraded = new AtomicInteger();

    /** Reservations waiting per scope chain, and settlements: combined into batched calls. */
    private final Map<ScopeChain.Key, Combiner<ReserveCall>> reservations =
            new ConcurrentHashMap<>();

    private final Combiner<SettleCall> settlements = new Combiner<>(this::settleBatch, () -> {});

    /** Null when slices are off. */
    private final Slices slices;

    Governor(Pool pool, GatewayConfig config, MeterRegistry meters, Vertx vertx) {
        this.pool = pool;
        this.config = config.governance();
        this.meters = meters;
        this.vertx = vertx;
        meters.gauge("flotilla.gateway.governance.degraded", degraded);
        this.slices =
                this.config.enabled() && this.config.slices()
                        ? new Slices(pool, vertx, this.config, meters)
                        : null;
    }

    void start(@Observes StartupEvent ev) {
        if (slices != null) {
            slices.listen();
            vertx.setPeriodic(
                    Math.max(20, config.sliceLifetime().toMillis() / 4), id -> slices.sweep());
        }
        vertx.setPeriodic(
                30_000,
                id ->
                        pool.query("SELECT gateway.expire_reservations() AS n")
                                .execute()
                                .subscribe()
                                .with(
                                        rows -> {
                                            int n = rows.iterator().next().getInteger("n");
                                            if (n > 0) {
                                                LOG.warnf(
                                                        "charged and released %d reservations of requests that never settled",
                                                        n);
                                            }
                                        },
                                        e ->
                                                LOG.warnf(
                                                        e,
                                                        "expiring reservations failed: %s",
                                                        e.getMessage())));
    }

    /** Lets in-flight settlements reach Postgres before the pool closes on a graceful stop. */
    void stop(@Observes ShutdownEvent ev) throws InterruptedException {
        if (slices != null) {
            slices.stop(Duration.ofSeconds(10));
        }
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!settlements.idle() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        if (!settlements.idle()) {
            LOG.warn(
                    "settlements still pending at shutdown; their reservations will be charged in full when they expire");
        }
    }

    public boolean enabled() {
        return config.enabled();
    }

    /**
     * Returns this replica's slices that involve the scope, so its change (a pause, a new limit)
     * holds from the next request here; other replicas hear of it from Postgres.
     */
    public void changed(String scope) {
        if (slices != null) {
            slices.revoke(scope);
        }
    }

    /** The scope names of a caller and alias: key, tenant, and the alias within the tenant. */
    public static List<String> fixedScopes(Keys.Caller caller, String alias) {
        return List.of(
                "key:" + caller.keyId(),
                "tenant:" + caller.tenant(),
                "model:" + caller.tenant() + "/" + alias);
    }

    /**
     * Reserves {@code prompt} plus the completion tokens asked for (or the configured default),
     * priced at the dearest target that may serve the request.
     */
    public Uni<Grant> reserve(
            Keys.Caller caller,
            String alias,
            String namedScope,
            List<Target> targets,
            int prompt,
            Integer requestedCompletion) {
        int completion =
                requestedCompletion != null
                        ? requestedCompletion
                        : config.defaultCompletionTokens();
        if (!config.enabled()) {
            return Uni.createFrom().item(Grant.unmetered(prompt, completion));
        }
        double in = 0;
        double out = 0;
        for (Target t : targets) {
            if (t.prices() != null) {
                in = Math.max(in, t.prices().input());
                out = Math.max(out, t.prices().output());
            }
        }
        ScopeChain chain =
                new ScopeChain(
                        new ScopeChain.Key(caller.keyId(), alias, namedScope, in, out),
                        caller.tenant(),
                        fixedScopes(caller, alias).toArray(new String[0]));
        if (slices == null) {
            return exact(chain, prompt, completion);
        }
        return slices.admit(chain, prompt, completion, () -> exact(chain, prompt, completion));
    }

    /** A reservation of this request alone, combined with others of its chain into one call. */
    private Uni<Grant> exact(ScopeChain chain, int prompt, int completion) {
        UUID id = UUID.randomUUID();
        int min = Math.min(config.minCompletionTokens(), completion);
        Uni<Row> reserved =
                Uni.createFrom()
                        .emitter(
                                emitter ->
                                        reservations
                                                .computeIfAbsent(
                                                        chain.key(),
                                                        k ->
                                                                new Combiner<ReserveCall>(
                                                                        batch ->
                                                                                reserveBatch(
                                                                                        chain,
                                                                                        batch),
                                                                        () ->
                                                                                reservations.remove(
                                                                                        k)))
                                                .submit(
                                                        new ReserveCall(
                                                                id,
                                                                prompt,
                                                                completion,
                                                                min,
                                                                emitter)));
        return reserved.map(
                        r -> {
                            degraded.set(0);
                            if (!r.getBoolean("ok")) {
                                throw refusal(r);
                            }
                            int granted = r.getLong("granted").intValue();
                            if (granted < completion) {
                                meters.counter("flotilla.gateway.governance.clamped").increment();
                            }
                            return new Grant(
                                    id,
                                    prompt,
                                    granted,
                                    granted < completion,
                                    true,
                                    r.getInteger("limit_requests"),
                                    r.getInteger("remaining_requests"),
                                    r.getInteger("limit_tokens"),
                                    r.getInteger("remaining_tokens"),
                                    null);
                        })
                .onFailure(e -> !(e instanceof OpenAiError))
                .recoverWithUni(e -> storeFailure(e, prompt, completion));
    }

    /**
     * Charges the real usage and releases the rest; a request that failed upstream is charged
     * nothing.
     */
    public Uni<Void> settle(Grant grant, long tokens, long costMicros) {
        if (!grant.metered()) {
            return Uni.createFrom().voidItem();
        }
        if (grant.slice() != null) {
            slices.settle(grant, tokens, costMicros);
            return Uni.createFrom().voidItem();
        }
        return Uni.createFrom()
                .<Void>emitter(
                        emitter ->
                                settlements.submit(
                                        new SettleCall(grant.id(), tokens, costMicros, emitter)))
                .onFailure()
                .invoke(
                        e -> {
                            degraded.set(1);
                            meters.counter(
                                            "flotilla.gateway.governance.store_failures",
                                            "operation",
                                            "settle")
                                    .increment();
                            LOG.warnf(
                                    e,
                                    "settling reservation %s failed; it will be charged in full when it expires: %s",
                                    grant.id(),
                                    e.getMessage());
                        })
                .onFailure()
                .recoverWithItem((Void) null);
    }

    private record ReserveCall(
            UUID id, int prompt, int completion, int min, UniEmitter<? super Row> emitter) {}

    private record SettleCall(UUID id, long tokens, long cost, UniEmitter<? super Void> emitter) {}

    /** One call for all waiting reservations of one chain; each waiter gets its own row. */
    private Uni<Void> reserveBatch(ScopeChain chain, List<ReserveCall> batch) {
        Tuple args =
                Tuple.tuple(
                                List.of(
                                        batch.stream().map(ReserveCall::id).toArray(UUID[]::new),
                                        chain.tenant(),
                                        chain.fixed()))
                        .addString(chain.named())
                        .addArrayOfLong(
                                batch.stream().map(c -> (long) c.prompt()).toArray(Long[]::new))
                        .addArrayOfLong(
                                batch.stream().map(c -> (long) c.completion()).toArray(Long[]::new))
                        .addArrayOfLong(
                                batch.stream().map(c -> (long) c.min()).toArray(Long[]::new))
                        .addDouble(chain.inPrice())
                        .addDouble(chain.outPrice())
                        .addInteger((int) config.reservationTtl().toSeconds());
        return pool.preparedQuery(
                        "SELECT * FROM gateway.reserve_many($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                .execute(args)
                .invoke(
                        rows -> {
                            Map<UUID, Row> byId = new HashMap<>();
                            rows.forEach(row -> byId.put(row.getUUID("request"), row));
                            batch.forEach(c -> c.emitter().complete(byId.get(c.id())));
                        })
                .onFailure()
                .invoke(e -> batch.forEach(c -> c.emitter().fail(e)))
                .replaceWithVoid();
    }

    private Uni<Void> settleBatch(List<SettleCall> batch) {
        Tuple args =
                Tuple.of(
                        batch.stream().map(SettleCall::id).toArray(UUID[]::new),
                        batch.stream().map(SettleCall::tokens).toArray(Long[]::new),
                        batch.stream().map(SettleCall::cost).toArray(Long[]::new));
        return pool.preparedQuery("SELECT gateway.settle_many($1, $2, $3)")
                .execute(args)
                .invoke(rows -> batch.forEach(c -> c.emitter().complete(null)))
                .onFailure()
                .invoke(e -> batch.forEach(c -> c.emitter().fail(e)))
                .replaceWithVoid();
    }

    /** Cost in micro-USD: prices are USD per million tokens, which is micro-USD per token. */
    public static long costMicros(Target target, long input, long cachedInput, long output) {
        Routes.Prices p = target.prices();
        if (p == null) {
            return 0;
        }
        double cachedPrice = p.cachedInput() == null ? p.input() : p.cachedInput();
        long cached = Math.min(cachedInput, input);
        return (long)
                Math.ceil(
                        (input - cached) * p.input() + cached * cachedPrice + output * p.output());
    }

    /**
     * Cached prompt tokens of an OpenAI usage object ({@code prompt_tokens_details.cached_tokens}).
     */
    public static long cachedTokens(JsonNode usage) {
        return usage == null
                ? 0
                : usage.path("prompt_tokens_details").path("cached_tokens").asLong(0);
    }

    /** The answer when the store cannot be reached to authenticate a key: fail closed, count it. */
    public OpenAiError keyStoreFailure(Throwable e) {
        degraded.set(1);
        meters.counter("flotilla.gateway.governance.store_failures", "operation", "authenticate")
                .increment();
        LOG.warnf(e, "key store unreachable, refusing: %s", e.getMessage());
        return unavailable();
    }

    private static OpenAiError unavailable() {
        return new OpenAiError(
                503,
                "api_error",
                "governance_unavailable",
                null,
                "the gateway cannot reach its store of keys and limits, so it refuses requests rather than risk overspending; retry shortly",
                Duration.ofSeconds(5));
    }

    private Uni<Grant> storeFailure(Throwable e, int prompt, int completion) {
        degraded.set(1);
        meters.counter("flotilla.gateway.governance.store_failures", "operation", "reserve")
                .increment();
        if ("open".equalsIgnoreCase(config.onStoreFailure())) {
            LOG.warnf(
                    e,
                    "governance store unreachable, letting the request through unmetered (on-store-failure=open): %s",
                    e.getMessage());
            return Uni.createFrom().item(Grant.unmetered(prompt, completion));
        }
        LOG.warnf(
                e,
                "governance store unreachable, refusing (on-store-failure=closed): %s",
                e.getMessage());
        return Uni.createFrom().failure(unavailable());
    }

    private static OpenAiError refusal(Row r) {
        String scope = r.getString("refused_scope");
        String reason = r.getString("reason");
        Integer retry = r.getInteger("retry_after");
        OffsetDateTime ends = r.getOffsetDateTime("period_ends");
        RateHeaders headers =
                new RateHeaders(
                        r.getInteger("limit_requests"),
                        r.getInteger("remaining_requests"),
                        r.getInteger("limit_tokens"),
                        r.getInteger("remaining_tokens"),
                        retry == null ? 0 : retry);
        return switch (reason) {
            case "unknown_scope" ->
                    new OpenAiError(
                            400,
                            "invalid_request_error",
                            "unknown_budget_scope",
                            "X-Flotilla-Budget",
                            "budget scope '"
                                    + scope
                                    + "' does not exist; create it with PUT /admin/v1/scopes/"
                                    + scope,
                            null);
            case "foreign_scope" ->
                    new OpenAiError(
                            403,
                            "permission_error",
                            "foreign_budget_scope",
                            "X-Flotilla-Budget",
                            "budget scope '" + scope + "' belongs to another tenant",
                            null);
            case "paused" ->
                    new OpenAiError(
                            429,
                            "insufficient_quota",
                            "scope_paused",
                            null,
                            "scope '"
                                    + scope
                                    + "' is paused by an administrator (kill switch); resume it with POST /admin/v1/scopes/"
                                    + scope
                                    + "/resume",
                            Duration.ofSeconds(30));
            case "rpm" ->
                    new OpenAiError(
                                    429,
                                    "rate_limit_error",
                                    "rate_limit_exceeded",
                                    null,
                                    "scope '"
                                            + scope
                                            + "' allows "
                                            + r.getInteger("limit_requests")
                                            + " requests per minute; retry in "
                                            + retry
                                            + " s",
                                    Duration.ofSeconds(retry))
                            .with(headers);
            case "tpm" ->
                    new OpenAiError(
                                    429,
                                    "rate_limit_error",
                                    "rate_limit_exceeded",
                                    null,
                                    "scope '"
                                            + scope
                                            + "' allows "
                                            + r.getInteger("limit_tokens")
                                            + " tokens per minute and cannot fit this request now; retry in "
                                            + retry
                                            + " s or lower max_tokens",
                                    Duration.ofSeconds(retry))
                            .with(headers);
            default ->
                    new OpenAiError(
                            429,
                            "insufficient_quota",
                            "insufficient_quota",
                            null,
                            "the "
                                    + (reason.equals("budget_cost") ? "cost" : "token")
                                    + " budget of scope '"
                                    + scope
                                    + "' is spent"
                                    + (ends == null
                                            ? "; it does not reset, ask an administrator to raise it"
                                            : "; it resets at " + ends.toInstant()),
                            ends == null
                                    ? Duration.ofHours(1)
                                    : Duration.between(java.time.Instant.now(), ends.toInstant()));
        };
    }
}
