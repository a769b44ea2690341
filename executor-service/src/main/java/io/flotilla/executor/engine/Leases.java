package io.flotilla.executor.engine;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.flotilla.executor.ExecutorConfig;
import io.flotilla.executor.step.Claim;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;

/**
 * Who runs which step: claiming ready steps ({@code FOR UPDATE SKIP LOCKED}, oldest first, fencing
 * epoch bumped), renewing the leases a pod holds, and handing back steps whose holder died.
 */
@ApplicationScoped
public class Leases {

    /** A step handed back after its lease expired, and how long ago it expired. */
    public record Reclaimed(
            UUID runId, String stepId, int item, String deadOwner, long expiredMillis) {}

    private final DataSource ds;
    private final ExecutorConfig config;

    Leases(DataSource ds, ExecutorConfig config) {
        this.ds = ds;
        this.config = config;
    }

    /** Claims up to {@code limit} ready steps for {@code owner}. */
    public List<Claim> claim(String owner, int limit) throws SQLException {
        List<Claim> claims = new ArrayList<>();
        try (Connection c = ds.getConnection();
                PreparedStatement ps =
                        c.prepareStatement(
                                """
                UPDATE executor.steps s SET status = 'running', attempt = s.attempt + 1, epoch = s.epoch + 1, lease_owner = ?,
                       lease_expires_at = now() + make_interval(secs => ?), started_at = coalesce(s.started_at, now()), not_before = NULL
                  FROM (SELECT run_id, step_id, item FROM executor.steps
                         WHERE status = 'ready' AND (not_before IS NULL OR not_before <= now())
                         ORDER BY ready_at LIMIT ? FOR UPDATE SKIP LOCKED) c, executor.runs r
                 WHERE s.run_id = c.run_id AND s.step_id = c.step_id AND s.item = c.item AND r.id = s.run_id
             RETURNING s.run_id, s.step_id, s.item, s.attempt, s.epoch, s.iteration, s.failures, s.item_value::text,
                       r.status, r.namespace, r.workflow, r.revision, r.input::text, r.budget IS NOT NULL, r.trace_parent""")) {
            ps.setString(1, owner);
            ps.setDouble(2, config.lease().toMillis() / 1000.0);
            ps.setInt(3, limit);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String item = rs.getString(8);
                    claims.add(
                            new Claim(
                                    (UUID) rs.getObject(1),
                                    rs.getString(2),
                                    rs.getInt(3),
                                    rs.getInt(4),
                                    rs.getLong(5),
                                    rs.getInt(6),
                                    rs.getInt(7),
                                    item == null ? null : RunTx.JSON.readTree(item),
                                    new Claim.Run(
                                            rs.getString(9),
                                            rs.getString(10),
                                            rs.getString(11),
                                            rs.getString(12),
                                            rs.getString(13),
                                            rs.getBoolean(14),
                                            rs.getString(15))));
                }
            } catch (JsonProcessingException e) {
                throw new UncheckedIOException(e);
            }
        }
        return claims;
    }

    /**
     * Extends the leases of the steps this pod is running right now (a step whose commit failed is
     * no longer among them, so its lease lapses and another pod takes it). Rows being committed at
     * this moment are skipped: they are done.
     */
    public int renew(Collection<Claim> inFlight) throws SQLException {
        if (inFlight.isEmpty()) {
            return 0;
        }
        try (Connection c = ds.getConnection();
                PreparedStatement ps =
                        c.prepareStatement(
                                """
                UPDATE executor.steps s SET lease_expires_at = now() + make_interval(secs => ?)
                  FROM (SELECT x.run_id, x.step_id, x.item FROM executor.steps x JOIN HELD USING (run_id, step_id, item, epoch)
                         WHERE x.status IN ('running', 'cancelling') FOR UPDATE OF x SKIP LOCKED) c
                 WHERE s.run_id = c.run_id AND s.step_id = c.step_id AND s.item = c.item"""
                                        .replace("HELD", HELD))) {
            ps.setDouble(1, config.lease().toMillis() / 1000.0);
            held(c, ps, 2, inFlight);
            return ps.executeUpdate();
        }
    }

    /**
     * Makes steps whose lease expired ready again, keeping their place at the head of the queue
     * (their next claim bumps the epoch, fencing the presumed-dead holder off), and ends in-flight
     * steps of ended runs whose holder died.
     */
    public List<Reclaimed> reclaim() throws SQLException {
        List<Reclaimed> reclaimed = new ArrayList<>();
        try (Connection c = ds.getConnection()) {
            try (PreparedStatement ps =
                            c.prepareStatement(
                                    """
                    WITH r AS (
                      UPDATE executor.steps s SET status = 'ready', lease_owner = NULL
                        FROM (SELECT run_id, step_id, item, lease_owner AS dead, lease_expires_at AS expired FROM executor.steps
                               WHERE status = 'running' AND lease_expires_at < now() FOR UPDATE SKIP LOCKED) c
                       WHERE s.run_id = c.run_id AND s.step_id = c.step_id AND s.item = c.item
                   RETURNING s.run_id, s.step_id, s.item, c.dead, (extract(epoch FROM clock_timestamp() - c.expired) * 1000)::bigint AS ms),
                    e AS (
                      INSERT INTO executor.events (run_id, type, step_id, item, data)
                      SELECT run_id, 'step.reclaimed', step_id, nullif(item, -1), jsonb_build_object('leaseExpiredMs', ms) FROM r)
                    SELECT * FROM r""");
                    ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    reclaimed.add(
                            new Reclaimed(
                                    (UUID) rs.getObject(1),
                                    rs.getString(2),
                                    rs.getInt(3),
                                    rs.getString(4),
                                    rs.getLong(5)));
                }
            }
            try (PreparedStatement ps =
                    c.prepareStatement(
                            "UPDATE executor.steps SET status = 'cancelled', finished_at = now() "
                                    + "WHERE status = 'cancelling' AND lease_expires_at < now()")) {
                ps.executeUpdate();
            }
        }
        return reclaimed;
    }

    /**
     * Hands steps this pod still runs back to the queue (on shutdown). A worker that finishes one
     * later is fenced off: its row is no longer {@code running}.
     */
    public int release(Collection<Claim> inFlight) throws SQLException {
        if (inFlight.isEmpty()) {
            return 0;
        }
        try (Connection c = ds.getConnection();
                PreparedStatement ps =
                        c.prepareStatement(
                                "UPDATE executor.steps s SET status = 'ready', "
                                        + "lease_owner = NULL FROM "
                                        + HELD
                                        + " WHERE s.run_id = h.run_id AND s.step_id = h.step_id AND s.item = h.item "
                                        + "AND s.epoch = h.epoch AND s.status = 'running'")) {
            held(c, ps, 1, inFlight);
            return ps.executeUpdate();
        }
    }

    /**
     * The claims a pod holds, as a table {@code h(run_id, step_id, item, epoch)} of four array
     * parameters.
     */
    private static final String HELD =
            "unnest(?::uuid[], ?::text[], ?::int[], ?::bigint[]) AS h(run_id, step_id, item, epoch)";

    private static void held(
            Connection c, PreparedStatement ps, int first, Collection<Claim> claims)
            throws SQLException {
        ps.setArray(first, c.createArrayOf("uuid", claims.stream().map(Claim::runId).toArray()));
        ps.setArray(
                first + 1, c.createArrayOf("text", claims.stream().map(Claim::stepId).toArray()));
        ps.setArray(first + 2, c.createArrayOf("int4", claims.stream().map(Claim::item).toArray()));
        ps.setArray(
                first + 3, c.createArrayOf("int8", claims.stream().map(Claim::epoch).toArray()));
    }

    /** Ready steps not yet claimed (a gauge). */
    public long readyDepth() throws SQLException {
        try (Connection c = ds.getConnection();
                PreparedStatement ps =
                        c.prepareStatement(
                                "SELECT count(*) FROM executor.steps WHERE status = 'ready'");
                ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
