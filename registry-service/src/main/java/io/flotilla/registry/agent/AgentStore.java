package io.flotilla.registry.agent;

import io.smallrye.mutiny.Uni;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * SQL over {@code registry.agents}. Every statement is a single atomic row operation decided by the
 * database clock, so any number of registry replicas can run side by side without locks of their
 * own.
 */
@ApplicationScoped
public class AgentStore {

    private static final String COLUMNS =
            "id, name, kind, namespace, pod_name, workflow, capabilities, metadata,"
                    + " ttl_seconds, registered_at, last_heartbeat_at, expires_at, expires_at > now() AS live";

    private final Pool pool;

    AgentStore(Pool pool) {
        this.pool = pool;
    }

    /** Outcome of an insert-or-replace. */
    public record Upserted(Instant expiresAt, boolean replaced) {}

    /**
     * Registers, or replaces the registration of the same (namespace, podName, name): the row gets
     * a new id and token hash, so the earlier id and token stop working in the same statement.
     */
    /**
     * Who may take a (namespace, pod, name) identity: {@code replaceLive} may replace a live
     * registration of it (the admin, or a token bound to that pod); {@code agentTokenHash}, when
     * set, must be the live registration's own token (an agent renewing itself), which then is the
     * only thing it may replace.
     */
    public record Claim(boolean replaceLive, byte[] agentTokenHash, int namespaceCap) {}

    /**
     * Registers or replaces; null when the claim does not allow it (a live registration of the
     * identity exists that the claim may not replace, or the namespace is at its cap).
     */
    public Uni<Upserted> upsert(
            UUID id, RegisterRequest r, int ttl, byte[] tokenHash, Claim claim) {
        Tuple args =
                Tuple.tuple(List.of(id, r.name(), r.kind(), r.namespace(), r.podName()))
                        .addValue(r.workflow())
                        .addValue(
                                new JsonArray(
                                        r.capabilities() == null ? List.of() : r.capabilities()))
                        .addValue(
                                new JsonObject(
                                        r.metadata() == null
                                                ? Map.of()
                                                : new LinkedHashMap<>(r.metadata())))
                        .addValue(Buffer.buffer(tokenHash))
                        .addValue(ttl)
                        .addValue(claim.replaceLive())
                        .addValue(
                                claim.agentTokenHash() == null
                                        ? null
                                        : Buffer.buffer(claim.agentTokenHash()))
                        .addValue(claim.namespaceCap());
        return pool.preparedQuery(
                        """
                INSERT INTO registry.agents (id, name, kind, namespace, pod_name, workflow, capabilities, metadata,
                    token_hash, ttl_seconds, registered_at, last_heartbeat_at, expires_at)
                SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now(), now(), now() + $10 * interval '1 second'
                 WHERE ($12::bytea IS NULL OR EXISTS (SELECT 1 FROM registry.agents WHERE namespace = $4
                            AND pod_name = $5 AND name = $2 AND token_hash = $12 AND expires_at > now()))
                   AND ((SELECT count(*) FROM registry.agents WHERE namespace = $4 AND expires_at > now()) < $13
                        OR EXISTS (SELECT 1 FROM registry.agents WHERE namespace = $4 AND pod_name = $5 AND name = $2))
                ON CONFLICT ON CONSTRAINT agents_identity DO UPDATE SET
                    id = EXCLUDED.id, kind = EXCLUDED.kind, workflow = EXCLUDED.workflow,
                    capabilities = EXCLUDED.capabilities, metadata = EXCLUDED.metadata,
                    token_hash = EXCLUDED.token_hash, ttl_seconds = EXCLUDED.ttl_seconds,
                    registered_at = EXCLUDED.registered_at, last_heartbeat_at = EXCLUDED.last_heartbeat_at,
                    expires_at = EXCLUDED.expires_at, expiry_counted = false
                 WHERE registry.agents.expires_at <= now() OR $11 OR registry.agents.token_hash = $12
                RETURNING expires_at, (xmax <> 0) AS replaced""")
                .execute(args)
                .map(
                        rows -> {
                            if (rows.rowCount() == 0) {
                                return null;
                            }
                            Row row = rows.iterator().next();
                            return new Upserted(
                                    row.getOffsetDateTime("expires_at").toInstant(),
                                    row.getBoolean("replaced"));
                        });
    }

    /** Whether a live registration holds this identity (after a refused upsert: why). */
    public Uni<Boolean> liveIdentity(String namespace, String pod, String name) {
        return pool.preparedQuery(
                        "SELECT 1 FROM registry.agents WHERE namespace = $1 AND pod_name = $2 AND name = $3 AND expires_at > now()")
                .execute(Tuple.of(namespace, pod, name))
                .map(rows -> rows.rowCount() > 0);
    }

    /** Extends a live registration held by this token; null when there is none to extend. */
    public Uni<Lease> heartbeat(UUID id, byte[] tokenHash) {
        return pool.preparedQuery(
                        """
                UPDATE registry.agents
                   SET last_heartbeat_at = now(), expires_at = now() + ttl_seconds * interval '1 second'
                 WHERE id = $1 AND token_hash = $2 AND expires_at > now()
                RETURNING ttl_seconds, expires_at""")
                .execute(Tuple.of(id, Buffer.buffer(tokenHash)))
                .map(
                        rows -> {
                            if (rows.rowCount() == 0) {
                                return null;
                            }
                            Row row = rows.iterator().next();
                            return new Lease(
                                    id,
                                    row.getInteger("ttl_seconds"),
                                    row.getOffsetDateTime("expires_at").toInstant());
                        });
    }

    /** Why a heartbeat or deregistration found nothing to act on. */
    public enum Standing {
        UNKNOWN,
        FOREIGN_TOKEN,
        EXPIRED,
        LIVE
    }

    public Uni<Standing> standing(UUID id, byte[] tokenHash) {
        return pool.preparedQuery(
                        "SELECT token_hash = $2 AS own, expires_at > now() AS live FROM registry.agents WHERE id = $1")
                .execute(Tuple.of(id, Buffer.buffer(tokenHash)))
                .map(
                        rows -> {
                            if (rows.rowCount() == 0) {
                                return Standing.UNKNOWN;
                            }
                            Row row = rows.iterator().next();
                            if (!row.getBoolean("own")) {
                                return Standing.FOREIGN_TOKEN;
                            }
                            return row.getBoolean("live") ? Standing.LIVE : Standing.EXPIRED;
                        });
    }

    /**
     * Deletes the registration if this token holds it (any token when {@code tokenHash} is null).
     */
    public Uni<Boolean> delete(UUID id, byte[] tokenHash) {
        Uni<RowSet<Row>> result =
                tokenHash == null
                        ? pool.preparedQuery("DELETE FROM registry.agents WHERE id = $1")
                                .execute(Tuple.of(id))
                        : pool.preparedQuery(
                                        "DELETE FROM registry.agents WHERE id = $1 AND token_hash = $2")
                                .execute(Tuple.of(id, Buffer.buffer(tokenHash)));
        return result.map(rows -> rows.rowCount() > 0);
    }

    public Uni<AgentView> find(UUID id) {
        return pool.preparedQuery("SELECT " + COLUMNS + " FROM registry.agents WHERE id = $1")
                .execute(Tuple.of(id))
                .map(rows -> rows.rowCount() == 0 ? null : view(rows.iterator().next()));
    }

    /** The live registration that owns this token, or null: lapsed registrations never verify. */
    public Uni<AgentView> findLiveByToken(byte[] tokenHash) {
        return pool.preparedQuery(
                        "SELECT "
                                + COLUMNS
                                + " FROM registry.agents WHERE token_hash = $1 AND expires_at > now()")
                .execute(Tuple.of(Buffer.buffer(tokenHash)))
                .map(rows -> rows.rowCount() == 0 ? null : view(rows.iterator().next()));
    }

    /** Filters are optional; {@code live} null means both active and expired. */
    public Uni<List<AgentView>> list(String namespace, String kind, Boolean live, int limit) {
        return pool.preparedQuery(
                        "SELECT "
                                + COLUMNS
                                + """
                 FROM registry.agents
                WHERE ($1::text IS NULL OR namespace = $1)
                  AND ($2::text IS NULL OR kind = $2)
                  AND ($3::boolean IS NULL OR (expires_at > now()) = $3)
                ORDER BY namespace, pod_name, name
                LIMIT $4""")
                .execute(Tuple.of(namespace, kind, live, limit))
                .map(
                        rows -> {
                            List<AgentView> out = new ArrayList<>(rows.rowCount());
                            rows.forEach(row -> out.add(view(row)));
                            return out;
                        });
    }

    /**
     * Marks lapsed registrations as counted; returns how many lapsed since the last sweep of any
     * replica.
     */
    public Uni<Integer> markExpired() {
        return pool.query(
                        """
                UPDATE registry.agents SET expiry_counted = true
                 WHERE NOT expiry_counted AND expires_at <= now()""")
                .execute()
                .map(RowSet::rowCount);
    }

    /** Deletes registrations that lapsed more than {@code graceSeconds} ago; returns how many. */
    public Uni<Integer> purge(long graceSeconds) {
        return pool.preparedQuery(
                        "DELETE FROM registry.agents WHERE expires_at <= now() - $1 * interval '1 second'")
                .execute(Tuple.of(graceSeconds))
                .map(RowSet::rowCount);
    }

    public Uni<Long> countLive() {
        return pool.query("SELECT count(*) AS n FROM registry.agents WHERE expires_at > now()")
                .execute()
                .map(rows -> rows.iterator().next().getLong("n"));
    }

    private static AgentView view(Row row) {
        List<String> capabilities = new ArrayList<>();
        JsonArray caps = (JsonArray) row.getValue("capabilities");
        caps.forEach(c -> capabilities.add(String.valueOf(c)));
        Map<String, String> metadata = new LinkedHashMap<>();
        ((JsonObject) row.getValue("metadata"))
                .forEach(e -> metadata.put(e.getKey(), String.valueOf(e.getValue())));
        return new AgentView(
                row.getUUID("id"),
                row.getString("name"),
                row.getString("kind"),
                row.getString("namespace"),
                row.getString("pod_name"),
                row.getString("workflow"),
                capabilities,
                metadata,
                row.getInteger("ttl_seconds"),
                row.getOffsetDateTime("registered_at").toInstant(),
                row.getOffsetDateTime("last_heartbeat_at").toInstant(),
                row.getOffsetDateTime("expires_at").toInstant(),
                row.getBoolean("live") ? "active" : "expired");
    }
}
