package io.flotilla.gateway.governance;

import io.flotilla.gateway.config.GatewayConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;
import io.vertx.pgclient.PgException;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;

/**
 * The cost ledger: one row per request, queued on the request path and written in batches every
 * {@code ledger-flush}. A graceful shutdown writes what is queued before the pool closes; rows of a
 * batch that failed for want of the database go back to the queue; a batch the database refuses for
 * its data is written row by row, and a row refused on its own is set aside (dropped from the
 * queue, counted, logged with its request id), so one bad row never blocks the rest.
 */
@Singleton
public class Ledger {

    private static final Logger LOG = Logger.getLogger(Ledger.class);
    private static final int BATCH = 500;

    /** One request as recorded. */
    public record Entry(
            UUID id,
            OffsetDateTime at,
            String tenant,
            UUID keyId,
            List<String> scopes,
            String alias,
            String provider,
            String model,
            long inputTokens,
            long outputTokens,
            long costMicros,
            int latencyMs,
            int status,
            boolean stream) {}

    private final Pool pool;
    private final Vertx vertx;
    private final Duration flush;
    private final ConcurrentLinkedQueue<Entry> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicBoolean writing = new AtomicBoolean();
    private final int maxQueued;
    private final Counter shed;
    private final Counter setAside;
    private volatile long lastShedLog;

    Ledger(Pool pool, Vertx vertx, GatewayConfig config, MeterRegistry meters) {
        this.pool = pool;
        this.vertx = vertx;
        this.flush = config.governance().ledgerFlush();
        this.maxQueued = config.governance().ledgerMaxQueued();
        meters.gauge("flotilla.gateway.ledger.queued", queued);
        this.shed =
                Counter.builder("flotilla.gateway.ledger.shed")
                        .description("Ledger rows dropped because the queue was full")
                        .register(meters);
        this.setAside =
                Counter.builder("flotilla.gateway.ledger.set.aside")
                        .description("Ledger rows the database refused on their own, set aside")
                        .register(meters);
    }

    void start(@Observes StartupEvent ev) {
        vertx.setPeriodic(flush.toMillis(), id -> drain());
    }

    /** Writes batch after batch until the queue is drained (one writer at a time). */
    private void drain() {
        write().subscribe()
                .with(
                        n -> {
                            if (n == BATCH) {
                                drain();
                            }
                        },
                        e -> {});
    }

    void stop(@Observes ShutdownEvent ev) {
        // drain before the datasource goes away: nothing recorded is lost on a graceful stop
        long until = System.nanoTime() + Duration.ofSeconds(20).toNanos(); // within the pod's grace
        while (!queue.isEmpty() && System.nanoTime() < until) {
            try {
                write().await().atMost(Duration.ofSeconds(5));
            } catch (RuntimeException e) {
                LOG.errorf(
                        e,
                        "could not write %d ledger rows at shutdown: %s",
                        queue.size(),
                        e.getMessage());
                return;
            }
        }
    }

    /**
     * A time-ordered id (UUID version 7: milliseconds since the epoch, then random bits), so rows
     * written together land together in the primary key's index instead of all over it.
     */
    public static UUID rowId() {
        long ms = System.currentTimeMillis();
        java.util.concurrent.ThreadLocalRandom random =
                java.util.concurrent.ThreadLocalRandom.current();
        long high = (ms << 16) | 0x7000L | (random.nextLong() & 0x0FFFL);
        long low = (random.nextLong() & 0x3FFFFFFFFFFFFFFFL) | 0x8000000000000000L;
        return new UUID(high, low);
    }

    public void record(Entry entry) {
        if (queued.get() >= maxQueued) {
            shed.increment();
            long now = System.currentTimeMillis();
            if (now - lastShedLog > 10_000) {
                lastShedLog = now;
                LOG.errorf(
                        "the ledger queue is full (%d rows): Postgres is not keeping up, rows are"
                                + " being dropped (flotilla_gateway_ledger_shed_total); scopes are"
                                + " still settled",
                        maxQueued);
            }
            return;
        }
        queue.add(entry);
        queued.incrementAndGet();
    }

    /** Writes one batch of queued rows; returns how many were written (0 if another write runs). */
    public Uni<Integer> write() {
        if (queue.isEmpty() || !writing.compareAndSet(false, true)) {
            return Uni.createFrom().item(0);
        }
        List<Entry> batch = new ArrayList<>(BATCH);
        Entry e;
        while (batch.size() < BATCH && (e = queue.poll()) != null) {
            batch.add(e);
        }
        queued.addAndGet(-batch.size());
        return pool.preparedQuery(INSERT)
                .execute(columns(batch))
                .map(r -> batch.size())
                .onFailure(Ledger::refused)
                .recoverWithUni(err -> oneByOne(batch))
                .onFailure()
                .invoke(
                        err -> {
                            LOG.warnf(
                                    err,
                                    "ledger batch of %d rows failed, will retry: %s",
                                    batch.size(),
                                    err.getMessage());
                            queue.addAll(batch);
                            queued.addAndGet(batch.size());
                        })
                .eventually(() -> writing.set(false));
    }

    /** One array per column: the whole batch is one statement for Postgres to execute. */
    private static Tuple columns(List<Entry> batch) {
        return Tuple.tuple(
                List.of(
                        batch.stream().map(Entry::id).toArray(UUID[]::new),
                        batch.stream().map(Entry::at).toArray(OffsetDateTime[]::new),
                        batch.stream().map(Entry::tenant).toArray(String[]::new),
                        batch.stream().map(Entry::keyId).toArray(UUID[]::new),
                        // a row's scopes as an array literal: arrays of arrays must be square
                        batch.stream().map(x -> arrayLiteral(x.scopes())).toArray(String[]::new),
                        batch.stream().map(Entry::alias).toArray(String[]::new),
                        batch.stream().map(Entry::provider).toArray(String[]::new),
                        batch.stream().map(Entry::model).toArray(String[]::new),
                        batch.stream().map(Entry::inputTokens).toArray(Long[]::new),
                        batch.stream().map(Entry::outputTokens).toArray(Long[]::new),
                        batch.stream().map(Entry::costMicros).toArray(Long[]::new),
                        batch.stream().map(Entry::latencyMs).toArray(Integer[]::new),
                        batch.stream().map(Entry::status).toArray(Integer[]::new),
                        batch.stream().map(Entry::stream).toArray(Boolean[]::new)));
    }

    /** {@code {"a","b"}}: every element quoted, quotes and backslashes escaped. */
    static String arrayLiteral(List<String> values) {
        StringBuilder out = new StringBuilder("{");
        for (String v : values) {
            if (out.length() > 1) {
                out.append(',');
            }
            out.append('"').append(v.replace("\\", "\\\\").replace("\"", "\\\"")).append('"');
        }
        return out.append('}').toString();
    }

    private static final String INSERT =
            """
            INSERT INTO gateway.ledger (id, at, tenant_id, key_id, scopes, alias, provider, model, input_tokens, output_tokens,
                cost_micros, latency_ms, status, stream)
            SELECT r.id, r.at, r.tenant_id, r.key_id, r.scopes::text[], r.alias,
                   r.provider, r.model, r.input_tokens, r.output_tokens, r.cost_micros, r.latency_ms, r.status, r.stream
              FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::uuid[], $5::text[], $6::text[], $7::text[],
                          $8::text[], $9::bigint[], $10::bigint[], $11::bigint[], $12::int[], $13::int[], $14::boolean[])
                AS r(id, at, tenant_id, key_id, scopes, alias, provider, model, input_tokens, output_tokens, cost_micros,
                     latency_ms, status, stream)
            ON CONFLICT (id) DO NOTHING""";

    /** The database refused the data (class 22 data exception, 23 integrity), not the call. */
    private static boolean refused(Throwable t) {
        return t instanceof PgException pg
                && pg.getSqlState() != null
                && (pg.getSqlState().startsWith("22") || pg.getSqlState().startsWith("23"));
    }

    /** Writes a refused batch row by row; rows refused on their own are set aside. */
    private Uni<Integer> oneByOne(List<Entry> batch) {
        return Multi.createFrom()
                .range(0, batch.size())
                .onItem()
                .transformToUniAndConcatenate(
                        i ->
                                pool.preparedQuery(INSERT)
                                        .execute(columns(List.of(batch.get(i))))
                                        .replaceWith(1)
                                        .onFailure(Ledger::refused)
                                        .recoverWithItem(
                                                err -> {
                                                    setAside.increment();
                                                    LOG.errorf(
                                                            "ledger row of request %s set aside: the database refused it (%s)",
                                                            batch.get(i).id(),
                                                            ((PgException) err).getSqlState());
                                                    return 0;
                                                }))
                .collect()
                .asList()
                .replaceWith(batch.size());
    }

    static OffsetDateTime now() {
        return OffsetDateTime.now(ZoneOffset.UTC);
    }
}
