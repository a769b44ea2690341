package io.flotilla.gateway.governance;

import io.agroal.api.AgroalDataSource;
import io.flotilla.gateway.config.GatewayConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.Vertx;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.jboss.logging.Logger;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

/**
 * The cost ledger: one row per request, queued on the request path and written in batches every
 * {@code ledger-flush}, each batch one {@code COPY} on the JDBC datasource. A graceful shutdown
 * writes what is queued before the pool closes; rows of a batch that failed for want of the
 * database go back to the queue; a batch the database refuses for its data is written row by row,
 * and a row refused on its own is set aside (dropped from the queue, counted, logged with its
 * request id), so one bad row never blocks the rest.
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

    private final AgroalDataSource dataSource;
    private final Vertx vertx;
    private final Duration flush;
    private final ConcurrentLinkedQueue<Entry> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicBoolean writing = new AtomicBoolean();
    private final int maxQueued;
    private final Counter shed;
    private final Counter setAside;
    private volatile long lastShedLog;

    /** The one thread that writes: COPY is a blocking JDBC call. */
    private final ExecutorService writer =
            Executors.newSingleThreadExecutor(
                    r -> {
                        Thread t = new Thread(r, "flotilla-ledger");
                        t.setDaemon(true);
                        return t;
                    });

    Ledger(AgroalDataSource dataSource, Vertx vertx, GatewayConfig config, MeterRegistry meters) {
        this.dataSource = dataSource;
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
        writer.shutdown();
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
        return Uni.createFrom()
                .item(() -> copy(batch))
                .runSubscriptionOn(writer)
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

    /**
     * Streams the batch into the table with {@code COPY} (a third of the server's work per row of
     * an {@code INSERT}); a batch the database refuses for its data is written row by row.
     */
    private int copy(List<Entry> batch) {
        try (Connection c = dataSource.getConnection()) {
            CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
            try {
                copy.copyIn(COPY, new ByteArrayInputStream(text(batch)));
            } catch (SQLException err) {
                if (!refused(err)) {
                    throw err;
                }
                for (Entry row : batch) {
                    copyOne(copy, row);
                }
            }
            return batch.size();
        } catch (SQLException | IOException err) {
            throw new IllegalStateException(err.getMessage(), err);
        }
    }

    /**
     * One row on its own: already there (a batch whose commit was lost on the way back and sent
     * again) counts as written; refused for its own data, it is set aside.
     */
    private void copyOne(CopyManager copy, Entry row) throws SQLException, IOException {
        try {
            copy.copyIn(COPY, new ByteArrayInputStream(text(List.of(row))));
        } catch (SQLException err) {
            if (UNIQUE_VIOLATION.equals(err.getSQLState())) {
                return;
            }
            if (!refused(err)) {
                throw err;
            }
            setAside.increment();
            LOG.errorf(
                    "ledger row of request %s set aside: the database refused it (%s)",
                    row.id(), err.getSQLState());
        }
    }

    private static final String COPY =
            "COPY gateway.ledger (id, at, tenant_id, key_id, scopes, alias, provider, model,"
                    + " input_tokens, output_tokens, cost_micros, latency_ms, status, stream) FROM"
                    + " STDIN";
    private static final String UNIQUE_VIOLATION = "23505";

    /** The rows in COPY's text format: tab-separated, one line per row, {@code \\N} for null. */
    static byte[] text(List<Entry> rows) {
        StringBuilder out = new StringBuilder(rows.size() * 256);
        for (Entry r : rows) {
            out.append(r.id()).append('\t').append(r.at()).append('\t');
            field(out, r.tenant()).append('\t').append(r.keyId()).append('\t');
            field(out, arrayLiteral(r.scopes())).append('\t');
            field(out, r.alias()).append('\t');
            field(out, r.provider()).append('\t');
            field(out, r.model()).append('\t');
            out.append(r.inputTokens()).append('\t').append(r.outputTokens()).append('\t');
            out.append(r.costMicros()).append('\t').append(r.latencyMs()).append('\t');
            out.append(r.status()).append('\t').append(r.stream() ? 't' : 'f').append('\n');
        }
        return out.toString().getBytes(StandardCharsets.UTF_8);
    }

    /** A text value with COPY's escapes: backslash, tab, newline and carriage return. */
    private static StringBuilder field(StringBuilder out, String value) {
        if (value == null) {
            return out.append("\\N");
        }
        for (int i = 0; i < value.length(); i++) {
            char ch = value.charAt(i);
            switch (ch) {
                case '\\' -> out.append("\\\\");
                case '\t' -> out.append("\\t");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                default -> out.append(ch);
            }
        }
        return out;
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

    /** The database refused the data (class 22 data exception, 23 integrity), not the call. */
    private static boolean refused(SQLException e) {
        return e.getSQLState() != null
                && (e.getSQLState().startsWith("22") || e.getSQLState().startsWith("23"));
    }

    static OffsetDateTime now() {
        return OffsetDateTime.now(ZoneOffset.UTC);
    }
}
