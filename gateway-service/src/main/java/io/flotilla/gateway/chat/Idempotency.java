package io.flotilla.gateway.chat;

import io.flotilla.gateway.config.GatewayConfig;
import io.flotilla.gateway.openai.OpenAiError;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import org.jboss.logging.Logger;

/**
 * {@code Idempotency-Key} on {@code /v1/chat/completions}, per virtual key, in Postgres so that
 * every replica sees it: the first request of a key runs; its final response (JSON, or the stream
 * as the client received it) is kept for {@code ttl}; a repeat with the same body gets it back — no
 * upstream call, no charge — a repeat while the first is in flight waits for it (at most {@code
 * max-wait}, then 409), and the same key with another body is refused (422).
 */
@Singleton
public class Idempotency {

    private static final Logger LOG = Logger.getLogger(Idempotency.class);

    /** What a request with an Idempotency-Key does. */
    sealed interface Claim permits First, Replay {}

    /** Run it: this request holds the key. */
    record First() implements Claim {}

    /** Answer with what the first request of the key answered. */
    record Replay(String contentType, String costUsd, String body) implements Claim {}

    private final Pool pool;
    private final Vertx vertx;
    private final GatewayConfig.Idempotency config;

    Idempotency(Pool pool, Vertx vertx, GatewayConfig config) {
        this.pool = pool;
        this.vertx = vertx;
        this.config = config.idempotency();
    }

    void start(@Observes StartupEvent ignored) {
        vertx.setPeriodic(
                60_000,
                t ->
                        pool.query(
                                        "DELETE FROM gateway.idempotency WHERE ctid IN (SELECT ctid FROM"
                                                + " gateway.idempotency WHERE expires_at < now() LIMIT 1000)")
                                .execute()
                                .subscribe()
                                .with(
                                        rows -> {},
                                        e ->
                                                LOG.warnf(
                                                        e,
                                                        "purging expired idempotency keys failed")));
    }

    /** Claims {@code key} of this virtual key for a request whose body hashes to {@code hash}. */
    Uni<Claim> claim(UUID keyId, String key, String hash) {
        return claim(keyId, key, hash, System.nanoTime() + config.maxWait().toNanos());
    }

    private Uni<Claim> claim(UUID keyId, String key, String hash, long waitUntil) {
        return pool.preparedQuery(
                        """
                INSERT INTO gateway.idempotency (key_id, idem_key, request_hash, status, expires_at)
                VALUES ($1, $2, $3, 'in_flight', now() + make_interval(secs => $4))
                ON CONFLICT (key_id, idem_key) DO UPDATE
                   SET request_hash = EXCLUDED.request_hash, status = 'in_flight', claimed_at = now(),
                       expires_at = EXCLUDED.expires_at, content_type = NULL, cost_usd = NULL, body = NULL
                 WHERE idempotency.expires_at < now()
                    OR (idempotency.status = 'in_flight' AND idempotency.claimed_at < now() - make_interval(secs => $5))
                RETURNING true""")
                .execute(
                        Tuple.of(
                                keyId,
                                key,
                                hash,
                                (double) config.ttl().toSeconds(),
                                (double) config.inFlightTimeout().toSeconds()))
                .chain(
                        inserted -> {
                            if (inserted.rowCount() > 0) {
                                return Uni.createFrom().item(new First());
                            }
                            return pool.preparedQuery(
                                            "SELECT request_hash, status, content_type, cost_usd, body"
                                                    + " FROM gateway.idempotency WHERE key_id = $1 AND idem_key = $2")
                                    .execute(Tuple.of(keyId, key))
                                    .chain(rows -> held(keyId, key, hash, waitUntil, rows));
                        });
    }

    private Uni<Claim> held(
            UUID keyId, String key, String hash, long waitUntil, Iterable<Row> rows) {
        var it = rows.iterator();
        if (!it.hasNext()) { // gone between the two statements (expired and purged): try again
            return claim(keyId, key, hash, waitUntil);
        }
        Row row = it.next();
        if (!row.getString("request_hash").equals(hash)) {
            throw new OpenAiError(
                    422,
                    "invalid_request_error",
                    "idempotency_key_reused",
                    "Idempotency-Key",
                    "this Idempotency-Key was used with another request body; use a new key for a"
                            + " new request",
                    null);
        }
        if (row.getString("status").equals("done")) {
            return Uni.createFrom()
                    .item(
                            new Replay(
                                    row.getString("content_type"),
                                    row.getString("cost_usd"),
                                    row.getString("body")));
        }
        if (System.nanoTime() > waitUntil) {
            throw new OpenAiError(
                    409,
                    "invalid_request_error",
                    "idempotency_key_in_use",
                    "Idempotency-Key",
                    "a request with this Idempotency-Key is still running; retry it later to get"
                            + " its answer",
                    Duration.ofSeconds(1));
        }
        return Uni.createFrom()
                .voidItem()
                .onItem()
                .delayIt()
                .by(Duration.ofMillis(100))
                .chain(() -> claim(keyId, key, hash, waitUntil));
    }

    /**
     * Keeps the final response of the key's request for repeats; one larger than {@code
     * max-body-bytes} is not kept (the key is released: a repeat calls again).
     */
    void complete(UUID keyId, String key, String contentType, String costUsd, String body) {
        if (body.getBytes(StandardCharsets.UTF_8).length > config.maxBodyBytes()) {
            release(keyId, key);
            return;
        }
        pool.preparedQuery(
                        "UPDATE gateway.idempotency SET status = 'done', content_type = $3,"
                                + " cost_usd = $4, body = $5 WHERE key_id = $1 AND idem_key = $2")
                .execute(Tuple.of(keyId, key, contentType, costUsd, body))
                .subscribe()
                .with(
                        rows -> {},
                        e -> LOG.warnf(e, "keeping the response of an idempotency key failed"));
    }

    /** The key's request failed: nothing to replay, a repeat may run. */
    void release(UUID keyId, String key) {
        pool.preparedQuery(
                        "DELETE FROM gateway.idempotency WHERE key_id = $1 AND idem_key = $2"
                                + " AND status = 'in_flight'")
                .execute(Tuple.of(keyId, key))
                .subscribe()
                .with(rows -> {}, e -> LOG.warnf(e, "releasing an idempotency key failed"));
    }
}
