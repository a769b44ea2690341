package io.flotilla.gateway.governance;

import io.flotilla.gateway.config.GatewayConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.pgclient.PgConnection;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.jboss.logging.Logger;

/**
 * Admission within leased slices (docs/governance.md "Slices"). Per scope chain a replica holds at
 * most one open slice; a request that fits is admitted in memory, one that does not closes it and
 * waits for the next lease (requests arriving meanwhile wait for the same lease). When Postgres
 * will not lease a useful share (a limit is near, a scope is paused or unknown) the chain takes the
 * exact path, a reservation per request, for one slice lifetime. Changes of a scope are announced
 * by Postgres ({@code NOTIFY flotilla_scopes}); the slices they touch are returned at once.
 */
final class Slices {

    private static final Logger LOG = Logger.getLogger(Slices.class);
    private static final String CHANNEL = "flotilla_scopes";

    private final Pool pool;
    private final Vertx vertx;
    private final double fraction;
    private final long lifetimeNanos;
    private final int ttlSeconds;
    private final Counter leases;
    private final Map<ScopeChain.Key, Chain> chains = new ConcurrentHashMap<>();

    /** Closed slices that still owe Postgres a release (requests in flight, or a call pending). */
    private final Set<Slice> owing = ConcurrentHashMap.newKeySet();

    private volatile boolean stopped;

    Slices(Pool pool, Vertx vertx, GatewayConfig.Governance config, MeterRegistry meters) {
        this.pool = pool;
        this.vertx = vertx;
        this.fraction = config.sliceFraction();
        this.lifetimeNanos = config.sliceLifetime().toNanos();
        this.ttlSeconds = (int) config.reservationTtl().toSeconds();
        this.leases = meters.counter("flotilla.gateway.governance.slices.leased");
    }

    /** One scope chain of one tenant, alias and named scope, at the prices of its targets. */
    private static final class Chain {
        final ScopeChain scopes;
        final ArrayDeque<Waiter> waiting = new ArrayDeque<>();
        Slice open;
        boolean leasing;
        long exactUntil;
        long lastTokens;
        int lastRequests;

        /** Counts revocations: a lease that lands after one is given straight back. */
        int generation;

        /** Set when the sweep forgets the chain; whoever still holds it starts again. */
        boolean retired;

        Chain(ScopeChain scopes) {
            this.scopes = scopes;
        }

        synchronized boolean touches(String scope) {
            Slice s = open;
            return scope.equals(scopes.named())
                    || Arrays.asList(scopes.fixed()).contains(scope)
                    || (s != null && s.scopes.contains(scope));
        }
    }

    private record Waiter(int prompt, int completion, CompletableFuture<Grant> answer) {}

    /**
     * A grant within a slice of the chain, or else {@code exact}: the request reserves on its own
     * (which also gives refusals their reasons).
     */
    Uni<Grant> admit(ScopeChain scopes, int prompt, int completion, Supplier<Uni<Grant>> exact) {
        if (stopped) {
            return exact.get();
        }
        long now = System.nanoTime();
        while (true) {
            Chain chain = chains.computeIfAbsent(scopes.key(), k -> new Chain(scopes));
            Slice closing;
            Slice.Release due = null;
            CompletableFuture<Grant> answer = new CompletableFuture<>();
            boolean lease;
            int generation;
            synchronized (chain) {
                if (chain.retired) {
                    continue;
                }
                if (now < chain.exactUntil) {
                    return exact.get();
                }
                closing = chain.open;
                if (closing != null) {
                    Grant g = closing.take(prompt, completion, now);
                    if (g != null) {
                        return Uni.createFrom().item(g);
                    }
                    due = closeLocked(chain);
                }
                chain.waiting.add(new Waiter(prompt, completion, answer));
                lease = !chain.leasing;
                chain.leasing = true;
                generation = chain.generation;
            }
            // the next lease waits for the closed slice's return, so it sees that headroom again
            release(
                    closing,
                    due,
                    lease ? () -> lease(chain, generation, (long) prompt + completion) : null);
            return Uni.createFrom()
                    .completionStage(answer)
                    .chain(g -> g != null ? Uni.createFrom().item(g) : exact.get());
        }
    }

    /** Settles a request admitted within a slice: in memory, or into the slice's release. */
    void settle(Grant grant, long used, long usedMicros) {
        Slice s = grant.slice();
        release(s, s.settle(grant, used, usedMicros), null);
    }

    private void lease(Chain chain, int generation, long need) {
        long wantTokens;
        int wantRequests;
        synchronized (chain) {
            long waitingTokens =
                    chain.waiting.stream().mapToLong(w -> (long) w.prompt() + w.completion()).sum();
            wantTokens = Math.max(4 * need, 2 * Math.max(chain.lastTokens, waitingTokens));
            wantRequests = Math.max(4, 2 * Math.max(chain.lastRequests, chain.waiting.size()));
        }
        UUID id = UUID.randomUUID();
        Tuple args =
                Tuple.tuple(List.of(id, chain.scopes.tenant(), chain.scopes.fixed()))
                        .addString(chain.scopes.named())
                        .addLong(wantTokens)
                        .addInteger(wantRequests)
                        .addLong(2 * need)
                        .addDouble(fraction)
                        .addDouble(Math.max(chain.scopes.inPrice(), chain.scopes.outPrice()))
                        .addInteger(ttlSeconds);
        pool.preparedQuery("SELECT * FROM gateway.lease($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)")
                .execute(args)
                .subscribe()
                .with(
                        rows -> leased(chain, generation, id, rows.iterator().next()),
                        e -> {
                            LOG.debugf(e, "leasing a slice failed: %s", e.getMessage());
                            leased(chain, generation, id, null);
                        });
    }

    /** Opens the leased slice (or sends the chain the exact way) and serves who waited. */
    private void leased(Chain chain, int generation, UUID id, Row row) {
        long now = System.nanoTime();
        List<Runnable> answers = new ArrayList<>();
        Slice orphan = null;
        synchronized (chain) {
            chain.leasing = false;
            if (row != null && row.getBoolean("ok")) {
                leases.increment();
                long minuteLeft =
                        60_000_000_000L - (System.currentTimeMillis() % 60_000L) * 1_000_000L;
                Slice s =
                        new Slice(
                                id,
                                List.of(row.getArrayOfStrings("chain")),
                                row.getLong("tokens"),
                                row.getLong("cost_micros"),
                                row.getInteger("requests"),
                                chain.scopes.inPrice(),
                                chain.scopes.outPrice(),
                                now + Math.min(lifetimeNanos, minuteLeft),
                                row.getInteger("limit_requests"),
                                row.getInteger("remaining_requests"),
                                row.getInteger("limit_tokens"),
                                row.getInteger("remaining_tokens"));
                if (stopped || chain.generation != generation) {
                    orphan = s; // stopped, or a scope changed while leasing: give it straight back
                } else {
                    chain.open = s;
                }
            } else {
                chain.exactUntil = now + lifetimeNanos;
            }
            while (!chain.waiting.isEmpty()) {
                Waiter w = chain.waiting.poll();
                Slice s = chain.open;
                Grant g = s == null ? null : s.take(w.prompt(), w.completion(), now);
                answers.add(() -> w.answer().complete(g));
            }
        }
        if (orphan != null) {
            owing.add(orphan);
            release(orphan, orphan.close(), null);
        }
        answers.forEach(Runnable::run);
    }

    /** Closes the chain's open slice; the caller sends what is due after leaving the lock. */
    private Slice.Release closeLocked(Chain chain) {
        Slice s = chain.open;
        chain.open = null;
        chain.lastTokens = s.takenTokens();
        chain.lastRequests = s.takenRequests();
        owing.add(s);
        return s.close();
    }

    /**
     * Sends what a slice owes Postgres, then whatever became due meanwhile, one call at a time;
     * {@code then} runs once this part is sent (or at once when nothing is due).
     */
    private void release(Slice slice, Slice.Release due, Runnable then) {
        if (due == null) {
            if (slice != null && slice.done()) {
                owing.remove(slice);
            }
            if (then != null) {
                then.run();
            }
            return;
        }
        pool.preparedQuery("SELECT gateway.release($1, $2, $3, $4, $5, $6)")
                .execute(
                        Tuple.tuple(
                                List.of(
                                        slice.id,
                                        due.tokens,
                                        due.cost,
                                        due.usedTokens,
                                        due.usedCost,
                                        due.requests)))
                .subscribe()
                .with(
                        rows -> {
                            if (then != null) {
                                then.run();
                            }
                            release(slice, slice.sent(), null);
                        },
                        e -> {
                            LOG.warnf(
                                    e,
                                    "returning part of slice %s failed; its reservation will be charged in full when it expires: %s",
                                    slice.id,
                                    e.getMessage());
                            if (then != null) {
                                then.run();
                            }
                            release(slice, slice.sent(), null);
                        });
    }

    /** Returns every slice that touches the scope (it was paused, limited, created or moved). */
    void revoke(String scope) {
        chains.values().forEach(c -> returnSlice(c, c.touches(scope)));
    }

    private void returnSlice(Chain chain, boolean when) {
        if (!when) {
            return;
        }
        Slice closing;
        Slice.Release due = null;
        synchronized (chain) {
            chain.exactUntil = 0;
            chain.generation++;
            closing = chain.open;
            if (closing != null) {
                due = closeLocked(chain);
            }
        }
        release(closing, due, null);
    }

    /** Returns slices past their lifetime and forgets idle chains. */
    void sweep() {
        long now = System.nanoTime();
        chains.forEach(
                (key, chain) -> {
                    Slice s = chain.open;
                    returnSlice(chain, s != null && s.expired(now));
                    synchronized (chain) {
                        if (chain.open == null
                                && !chain.leasing
                                && chain.waiting.isEmpty()
                                && now >= chain.exactUntil) {
                            chain.retired = true;
                            chains.remove(key);
                        }
                    }
                });
    }

    /** Listens for scope changes; a lost listener returns every slice, then listens again. */
    void listen() {
        if (stopped) {
            return;
        }
        pool.getConnection()
                .subscribe()
                .with(
                        connection -> {
                            PgConnection pg = PgConnection.cast(connection);
                            pg.notificationHandler(n -> revoke(n.getPayload()));
                            pg.closeHandler(
                                    () -> {
                                        chains.values().forEach(c -> returnSlice(c, true));
                                        vertx.setTimer(1000, id -> listen());
                                    });
                            pg.query("LISTEN " + CHANNEL)
                                    .execute()
                                    .subscribe()
                                    .with(
                                            ok -> {},
                                            e -> {
                                                LOG.warnf(
                                                        e,
                                                        "listening for scope changes failed: %s",
                                                        e.getMessage());
                                                connection.closeAndForget();
                                            });
                        },
                        e -> {
                            chains.values().forEach(c -> returnSlice(c, true));
                            vertx.setTimer(1000, id -> listen());
                        });
    }

    /** Returns every slice on shutdown and waits for what they owe to reach Postgres. */
    void stop(Duration within) throws InterruptedException {
        stopped = true;
        chains.values().forEach(c -> returnSlice(c, true));
        long deadline = System.nanoTime() + within.toNanos();
        while (System.nanoTime() < deadline && !allReturned()) {
            Thread.sleep(20);
        }
        if (!allReturned()) {
            LOG.warn(
                    "slices still held at shutdown; their reservations will be charged in full when they expire");
        }
    }

    private boolean allReturned() {
        return owing.isEmpty()
                && chains.values().stream()
                        .allMatch(
                                c -> {
                                    synchronized (c) {
                                        return c.open == null && !c.leasing;
                                    }
                                });
    }
}
