package io.flotilla.executor.store;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.executor.step.Claim;
import io.flotilla.executor.step.RunStatus;
import io.flotilla.executor.step.StepStatus;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Every statement on {@code executor.steps}. Each method runs on the connection it is given, so the
 * engine keeps its transaction protocol (step row fenced first, run row locked last) and calls
 * these inside it. Two statements write the step and its event in one CTE ({@link #commit}, {@link
 * #reclaim}): the event is part of the same transition, so they live with the step.
 */
@ApplicationScoped
public class StepStore {

    /** A step row as the DAG sees it (outputs are read only when an expression needs them). */
    public record Status(String stepId, int item, StepStatus status) {}

    /** A step handed back after its lease expired, and how long ago it expired. */
    public record Reclaimed(
            UUID runId, String stepId, int item, String deadOwner, long expiredMillis) {}

    /**
     * The fenced part of a commit: the step's new status, output, error, whether its loop goes on,
     * its failures, how long until it may run again (negative: not on time, only on an event such
     * as a decision), and the event that says so.
     */
    public record Transition(
            StepStatus status,
            JsonNode output,
            String error,
            boolean nextIteration,
            int failures,
            long delayMillis,
            String event,
            ObjectNode data) {}

    /** One step (or one foreach item of it: {@code item} set), as the API shows it. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record View(
            String id,
            Integer item,
            StepStatus status,
            int attempts,
            int iteration,
            long tokens,
            double costUsd,
            String error,
            Instant startedAt,
            Instant finishedAt,
            JsonNode output) {}

    /**
     * The claims a pod holds, as a table {@code h(run_id, step_id, item, epoch)} of four array
     * parameters.
     */
    private static final String HELD =
            "unnest(?::uuid[], ?::text[], ?::int[], ?::bigint[]) AS h(run_id, step_id, item, epoch)";

    private final ObjectMapper json;

    StepStore(ObjectMapper json) {
        this.json = json;
    }

    /** A new run's steps, all waiting. */
    public void insertWaiting(Connection c, UUID runId, List<String> stepIds) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        "INSERT INTO executor.steps (run_id, step_id, status) "
                                + "SELECT ?, unnest(?::text[]), 'waiting'")) {
            ps.setObject(1, runId);
            ps.setArray(2, c.createArrayOf("text", stepIds.toArray()));
            ps.executeUpdate();
        }
    }

    /**
     * Claims up to {@code limit} ready steps for {@code owner}, oldest first, bumping the epoch.
     */
    public List<Claim> claim(Connection c, String owner, Duration lease, int limit)
            throws SQLException {
        List<Claim> claims = new ArrayList<>();
        try (PreparedStatement ps =
                c.prepareStatement(
                        """
                UPDATE executor.steps s SET status = 'running', attempt = s.attempt + 1, epoch = s.epoch + 1, lease_owner = ?,
                       lease_expires_at = now() + make_interval(secs => ?), started_at = coalesce(s.started_at, now()), not_before = NULL
                  FROM (SELECT run_id, step_id, item FROM executor.steps
                         WHERE status = 'ready' AND (not_before IS NULL OR not_before <= now())
                         ORDER BY ready_at LIMIT ? FOR UPDATE SKIP LOCKED) c, executor.runs r
                 WHERE s.run_id = c.run_id AND s.step_id = c.step_id AND s.item = c.item AND r.id = s.run_id
             RETURNING s.run_id, s.step_id, s.item, s.attempt, s.epoch, s.iteration, s.failures, s.reclaims, s.started_at, s.item_value::text,
                       r.status, r.namespace, r.workflow, r.revision, r.input::text, r.budget IS NOT NULL, r.trace_parent""")) {
            ps.setString(1, owner);
            ps.setDouble(2, lease.toMillis() / 1000.0);
            ps.setInt(3, limit);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    claims.add(
                            new Claim(
                                    (UUID) rs.getObject(1),
                                    rs.getString(2),
                                    rs.getInt(3),
                                    rs.getInt(4),
                                    rs.getLong(5),
                                    rs.getInt(6),
                                    rs.getInt(7),
                                    rs.getInt(8),
                                    rs.getTimestamp(9).toInstant(),
                                    parse(rs.getString(10)),
                                    new Claim.Run(
                                            RunStatus.of(rs.getString(11)),
                                            rs.getString(12),
                                            rs.getString(13),
                                            rs.getString(14),
                                            rs.getString(15),
                                            rs.getBoolean(16),
                                            rs.getString(17))));
                }
            }
        }
        return claims;
    }

    /**
     * Extends the leases of the claims given, while their epoch holds; rows being committed at this
     * moment are skipped (they are done).
     */
    public int renew(Connection c, Duration lease, Collection<Claim> held) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        """
                UPDATE executor.steps s SET lease_expires_at = now() + make_interval(secs => ?)
                  FROM (SELECT x.run_id, x.step_id, x.item FROM executor.steps x JOIN HELD USING (run_id, step_id, item, epoch)
                         WHERE x.status IN ('running', 'cancelling') FOR UPDATE OF x SKIP LOCKED) c
                 WHERE s.run_id = c.run_id AND s.step_id = c.step_id AND s.item = c.item"""
                                .replace("HELD", HELD))) {
            ps.setDouble(1, lease.toMillis() / 1000.0);
            held(c, ps, 2, held);
            return ps.executeUpdate();
        }
    }

    /**
     * Makes steps whose lease expired ready again, keeping their place in the queue, with a {@code
     * step.reclaimed} event each; then ends cancelling steps whose holder died.
     */
    public List<Reclaimed> reclaim(Connection c) throws SQLException {
        List<Reclaimed> reclaimed = new ArrayList<>();
        try (PreparedStatement ps =
                        c.prepareStatement(
                                """
                WITH r AS (
                  UPDATE executor.steps s SET status = 'ready', lease_owner = NULL, reclaims = s.reclaims + 1
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
        return reclaimed;
    }

    /**
     * Makes the steps handed back until a time whose time has come ready (in the queue by when they
     * became ready): timers, and approvals whose timeout passed.
     */
    public int wake(Connection c) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        """
                UPDATE executor.steps s SET status = 'ready', not_before = NULL, ready_at = clock_timestamp()
                  FROM (SELECT run_id, step_id, item FROM executor.steps
                         WHERE status IN ('sleeping', 'awaiting_approval') AND not_before <= now()
                           FOR UPDATE SKIP LOCKED) d
                 WHERE s.run_id = d.run_id AND s.step_id = d.step_id AND s.item = d.item""")) {
            return ps.executeUpdate();
        }
    }

    /**
     * A child run ended (in this transaction): the parent's step that waits for it becomes ready
     * now, or, if it still runs, sleeps no longer than now when it hands itself back.
     */
    public void wakeParent(Connection c, UUID childRunId) throws SQLException {
        update(
                c,
                """
                UPDATE executor.steps s SET
                       status = CASE WHEN s.status = 'sleeping' THEN 'ready' ELSE s.status END,
                       ready_at = CASE WHEN s.status = 'sleeping' THEN clock_timestamp() ELSE s.ready_at END,
                       not_before = CASE WHEN s.status = 'sleeping' THEN NULL ELSE s.not_before END,
                       wake_pending = s.status = 'running'
                  FROM executor.runs r
                 WHERE r.id = ? AND s.run_id = r.parent_run_id AND s.step_id = r.parent_step
                   AND s.item = r.parent_item AND s.status IN ('sleeping', 'running')""",
                childRunId);
    }

    /**
     * A decision arrived: the step awaiting it becomes ready now. The step's status before, or null
     * when there is no such step; it changed only if that was {@code awaiting_approval}.
     */
    public StepStatus decided(Connection c, UUID runId, String stepId, int item)
            throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        """
                WITH before AS (
                  SELECT status FROM executor.steps WHERE run_id = ? AND step_id = ? AND item = ? FOR UPDATE),
                u AS (
                  UPDATE executor.steps SET status = 'ready', not_before = NULL, ready_at = clock_timestamp()
                   WHERE run_id = ? AND step_id = ? AND item = ? AND status = 'awaiting_approval')
                SELECT status FROM before""")) {
            for (int i = 0; i < 2; i++) {
                ps.setObject(3 * i + 1, runId);
                ps.setString(3 * i + 2, stepId);
                ps.setInt(3 * i + 3, item);
            }
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? StepStatus.of(rs.getString(1)) : null;
            }
        }
    }

    /** Hands the claims given back to the queue while they still run under their epoch. */
    public int release(Connection c, Collection<Claim> held) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        "UPDATE executor.steps s SET status = 'ready', lease_owner = NULL FROM "
                                + HELD
                                + " WHERE s.run_id = h.run_id AND s.step_id = h.step_id"
                                + " AND s.item = h.item AND s.epoch = h.epoch AND s.status = 'running'")) {
            held(c, ps, 1, held);
            return ps.executeUpdate();
        }
    }

    /** Ready steps not yet claimed. */
    public long readyDepth(Connection c) throws SQLException {
        try (PreparedStatement ps =
                        c.prepareStatement(
                                "SELECT count(*) FROM executor.steps WHERE status = 'ready'");
                ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * The fenced transition and its event, in one statement: applies {@code t} only if the claim's
     * epoch still holds the step, and answers the step's new status (cancelled when the run was
     * cancelled while it ran), or null when fenced off. An event that reports tokens and cost
     * reports the step's totals (what its journal already charged included).
     */
    public StepStatus commit(Connection c, Claim claim, Transition t, long tokens, double cost)
            throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        """
                WITH u AS (
                  UPDATE executor.steps SET tokens = tokens + ?, cost_usd = cost_usd + ?, lease_owner = NULL,
                         status = CASE WHEN status = 'cancelling' THEN 'cancelled' ELSE ? END,
                         output = coalesce(?::jsonb, output), error = ?, iteration = iteration + ?, failures = ?,
                         finished_at = CASE WHEN status = 'cancelling' OR ? NOT IN ('ready', 'sleeping', 'awaiting_approval') THEN now() END,
                         ready_at = clock_timestamp(),
                         not_before = CASE WHEN wake_pending AND ? = 'sleeping' THEN now()
                                           WHEN ? < 0 THEN 'infinity'::timestamptz ELSE now() + make_interval(secs => ?) END,
                         wake_pending = false
                   WHERE run_id = ? AND step_id = ? AND item = ? AND epoch = ? AND status IN ('running', 'cancelling')
               RETURNING status, tokens, cost_usd)
                INSERT INTO executor.events (run_id, type, step_id, item, data)
                SELECT ?, CASE WHEN u.status = 'cancelled' THEN 'step.cancelled' ELSE ? END, ?, ?,
                       CASE WHEN jsonb_exists(d.data, 'tokens')
                            THEN d.data || jsonb_build_object('tokens', u.tokens, 'costUsd', u.cost_usd)
                            ELSE d.data END
                  FROM u, (SELECT ?::jsonb AS data) d
             RETURNING (SELECT status FROM u)""")) {
            int i = 0;
            ps.setLong(++i, tokens);
            ps.setDouble(++i, cost);
            ps.setString(++i, t.status().db());
            ps.setString(++i, t.output() == null ? null : t.output().toString());
            ps.setString(++i, t.error());
            ps.setInt(++i, t.nextIteration() ? 1 : 0);
            ps.setInt(++i, t.failures());
            ps.setString(++i, t.status().db());
            ps.setString(++i, t.status().db());
            ps.setDouble(++i, t.delayMillis() / 1000.0);
            ps.setDouble(++i, t.delayMillis() / 1000.0);
            ps.setObject(++i, claim.runId());
            ps.setString(++i, claim.stepId());
            ps.setInt(++i, claim.item());
            ps.setLong(++i, claim.epoch());
            ps.setObject(++i, claim.runId());
            ps.setString(++i, t.event());
            ps.setString(++i, claim.stepId());
            ps.setObject(++i, claim.item() < 0 ? null : claim.item());
            ps.setString(++i, t.data().toString());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? StepStatus.of(rs.getString(1)) : null;
            }
        }
    }

    /** The step (or item) ends cancelled: its run ended while it ran. */
    public void cancel(Connection c, UUID runId, String stepId, int item) throws SQLException {
        update(
                c,
                "UPDATE executor.steps SET status = 'cancelled', finished_at = now()"
                        + " WHERE run_id = ? AND step_id = ? AND item = ?",
                runId,
                stepId,
                item);
    }

    /** The step fails with {@code error}: its row and, for a foreach item, the item's row too. */
    public void fail(Connection c, UUID runId, String stepId, int item, String error)
            throws SQLException {
        update(
                c,
                "UPDATE executor.steps SET status = 'failed', error = ?, finished_at = now(),"
                        + " lease_owner = NULL WHERE run_id = ? AND step_id = ? AND (item = ? OR item = -1)",
                error,
                runId,
                stepId,
                item);
    }

    /**
     * The run stops: steps not started are cancelled; steps in flight become cancelling and end as
     * cancelled when they return. Rows another transaction holds are skipped rather than waited for
     * (those transactions take the run's lock next and find the run ended), so transactions that
     * lock their step first and the run second cannot deadlock with this one.
     */
    public void stopRun(Connection c, UUID runId) throws SQLException {
        update(
                c,
                """
                UPDATE executor.steps s SET status = CASE WHEN s.status = 'running' THEN 'cancelling' ELSE 'cancelled' END,
                       finished_at = CASE WHEN s.status = 'running' THEN NULL ELSE now() END
                  FROM (SELECT run_id, step_id, item FROM executor.steps WHERE run_id = ? AND status IN ('waiting', 'ready', 'sleeping', 'awaiting_approval', 'fanout', 'running')
                           FOR UPDATE SKIP LOCKED) c
                 WHERE s.run_id = c.run_id AND s.step_id = c.step_id AND s.item = c.item""",
                runId);
    }

    /** Every row of a run's steps, by step and item: what the DAG advance reads. */
    public List<Status> statuses(Connection c, UUID runId) throws SQLException {
        List<Status> rows = new ArrayList<>();
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT step_id, item, status FROM executor.steps WHERE run_id = ?"
                                + " ORDER BY step_id, item")) {
            ps.setObject(1, runId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    rows.add(
                            new Status(
                                    rs.getString(1), rs.getInt(2), StepStatus.of(rs.getString(3))));
                }
            }
        }
        return rows;
    }

    /**
     * The outputs of a run's finished steps (a skipped step's is null): what templates and
     * conditions see.
     */
    public Map<String, JsonNode> finishedOutputs(Connection c, UUID runId) throws SQLException {
        Map<String, JsonNode> outputs = new HashMap<>();
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT step_id, output::text FROM executor.steps WHERE run_id = ? AND item"
                                + " = -1 AND status IN ('succeeded', 'skipped')")) {
            ps.setObject(1, runId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    JsonNode out = parse(rs.getString(2));
                    outputs.put(
                            rs.getString(1),
                            out == null ? JsonNodeFactory.instance.nullNode() : out);
                }
            }
        }
        return outputs;
    }

    /** The step is skipped (its {@code when} was false). */
    public void skip(Connection c, UUID runId, String stepId) throws SQLException {
        update(
                c,
                "UPDATE executor.steps SET status = 'skipped', finished_at = now()"
                        + " WHERE run_id = ? AND step_id = ? AND item = -1",
                runId,
                stepId);
    }

    /** A foreach over an empty list succeeds at once with an empty list. */
    public void succeedEmpty(Connection c, UUID runId, String stepId) throws SQLException {
        update(
                c,
                "UPDATE executor.steps SET status = 'succeeded', output = '[]'::jsonb,"
                        + " finished_at = now() WHERE run_id = ? AND step_id = ? AND item = -1",
                runId,
                stepId);
    }

    /**
     * Fans a step out: one row per item (the first {@code parallel} ready, the rest waiting), the
     * step's own row {@code fanout}.
     */
    public void fanOut(Connection c, UUID runId, String stepId, JsonNode items, int parallel)
            throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        "INSERT INTO executor.steps (run_id, step_id, item, status, item_value,"
                                + " ready_at) VALUES (?, ?, ?, ?, ?::jsonb, CASE WHEN ? THEN"
                                + " clock_timestamp() END)")) {
            for (int i = 0; i < items.size(); i++) {
                boolean now = i < parallel;
                ps.setObject(1, runId);
                ps.setString(2, stepId);
                ps.setInt(3, i);
                ps.setString(4, (now ? StepStatus.READY : StepStatus.WAITING).db());
                ps.setString(5, items.get(i).toString());
                ps.setBoolean(6, now);
                ps.addBatch();
            }
            ps.executeBatch();
        }
        update(
                c,
                "UPDATE executor.steps SET status = 'fanout', started_at = coalesce(started_at, now()),"
                        + " finished_at = NULL WHERE run_id = ? AND step_id = ? AND item = -1",
                runId,
                stepId);
    }

    /** A fan-out whose items all succeeded succeeds: their outputs in order, their spend summed. */
    public void join(Connection c, UUID runId, String stepId) throws SQLException {
        update(
                c,
                """
                UPDATE executor.steps p SET status = 'succeeded', finished_at = now(), output = j.output, tokens = j.tokens, cost_usd = j.cost
                  FROM (SELECT jsonb_agg(coalesce(output, 'null'::jsonb) ORDER BY item) AS output, sum(tokens) AS tokens, sum(cost_usd) AS cost
                          FROM executor.steps WHERE run_id = ? AND step_id = ? AND item >= 0) j
                 WHERE p.run_id = ? AND p.step_id = ? AND p.item = -1""",
                runId,
                stepId,
                runId,
                stepId);
    }

    /** Makes the given steps (or items) ready, in one statement. */
    public void makeReady(Connection c, UUID runId, List<String> stepIds, List<Integer> items)
            throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        "UPDATE executor.steps s SET status = 'ready', ready_at = clock_timestamp()"
                                + " FROM unnest(?::text[], ?::int[]) AS r(step_id, item)"
                                + " WHERE s.run_id = ? AND s.step_id = r.step_id AND s.item = r.item")) {
            ps.setArray(1, c.createArrayOf("text", stepIds.toArray()));
            ps.setArray(2, c.createArrayOf("int4", items.toArray()));
            ps.setObject(3, runId);
            ps.executeUpdate();
        }
    }

    /** A run's steps and items for the API, in the order they started. */
    public List<View> views(Connection c, UUID runId) throws SQLException {
        List<View> steps = new ArrayList<>();
        try (PreparedStatement ps =
                c.prepareStatement(
                        """
                SELECT step_id, item, status, attempt, iteration, tokens, cost_usd, error, started_at, finished_at, output::text
                  FROM executor.steps WHERE run_id = ? ORDER BY started_at NULLS LAST, step_id, item""")) {
            ps.setObject(1, runId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    int item = rs.getInt(2);
                    steps.add(
                            new View(
                                    rs.getString(1),
                                    item < 0 ? null : item,
                                    StepStatus.of(rs.getString(3)),
                                    rs.getInt(4),
                                    rs.getInt(5),
                                    rs.getLong(6),
                                    rs.getDouble(7),
                                    rs.getString(8),
                                    instant(rs.getTimestamp(9)),
                                    instant(rs.getTimestamp(10)),
                                    parse(rs.getString(11))));
                }
            }
        }
        return steps;
    }

    static Instant instant(Timestamp t) {
        return t == null ? null : t.toInstant();
    }

    private JsonNode parse(String text) {
        try {
            return text == null ? null : json.readTree(text);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    static int update(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            return ps.executeUpdate();
        }
    }

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
}
