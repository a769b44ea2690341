package io.flotilla.executor.store;

import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.executor.step.RunStatus;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;

/**
 * Every statement on {@code executor.runs}, each on the connection it is given. The engine locks a
 * run's row with {@link #lockAndAdd} as the last lock of a checkpoint; see {@code
 * docs/executor.md}.
 */
@ApplicationScoped
public class RunStore {

    /**
     * A run as stored: its id and status, and whether an earlier request with the same idempotency
     * key made it.
     */
    public record Started(UUID id, RunStatus status, String requestHash, boolean replayed) {}

    /** The run's row as a checkpoint locked it. */
    public record Locked(RunStatus status, String namespace, String workflow, String revision) {}

    /** A run with its status, output, tokens, cost, and (in detail) its steps, for the API. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record View(
            UUID id,
            String workflow,
            String revision,
            RunStatus status,
            String reason,
            JsonNode output,
            long tokens,
            double costUsd,
            Instant createdAt,
            Instant finishedAt,
            Parent parent,
            List<Child> children,
            List<StepStore.View> steps) {

        /** The namespace of the run's workflow ({@code workflow} is namespace/name). */
        @JsonIgnore
        public String namespace() {
            return workflow.substring(0, workflow.indexOf('/'));
        }

        public View withSteps(List<Child> children, List<StepStore.View> steps) {
            return new View(
                    id,
                    workflow,
                    revision,
                    status,
                    reason,
                    output,
                    tokens,
                    costUsd,
                    createdAt,
                    finishedAt,
                    parent,
                    children,
                    steps);
        }
    }

    /**
     * The run and step (item: a foreach item) whose workflow step started a run; {@code budget}:
     * whether the parent run has a budget scope that the child's nests in.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Parent(UUID run, String step, Integer item, @JsonIgnore boolean budget) {

        public Parent noBudget() {
            return new Parent(run, step, item, false);
        }
    }

    /** A run a workflow step of this run started. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Child(UUID id, String workflow, String step, Integer item, RunStatus status) {}

    private final ObjectMapper json;

    RunStore(ObjectMapper json) {
        this.json = json;
    }

    /**
     * Inserts a running run; false (nothing inserted) when its idempotency key is already taken.
     */
    public boolean insert(
            Connection c,
            UUID id,
            String namespace,
            String workflow,
            String revision,
            JsonNode input,
            JsonNode budget,
            String idempotencyKey,
            String requestHash,
            String traceParent,
            Parent parent)
            throws SQLException {
        return StepStore.update(
                        c,
                        "INSERT INTO executor.runs (id, namespace, workflow, revision, input,"
                                + " status, budget, idempotency_key, request_hash, trace_parent,"
                                + " parent_run_id, parent_step, parent_item)"
                                + " VALUES (?, ?, ?, ?, ?::jsonb, 'running', ?::jsonb, ?, ?, ?, ?, ?, ?)"
                                + " ON CONFLICT (idempotency_key) DO NOTHING",
                        id,
                        namespace,
                        workflow,
                        revision,
                        input.toString(),
                        budget == null ? null : budget.toString(),
                        idempotencyKey,
                        requestHash,
                        traceParent,
                        parent == null ? null : parent.run(),
                        parent == null ? null : parent.step(),
                        parent == null ? null : parent.item() == null ? -1 : parent.item())
                > 0;
    }

    /** How many ancestors a run has (0: it is no child run). */
    public int depth(Connection c, UUID run) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        """
                        WITH RECURSIVE up(id, depth) AS (
                          SELECT parent_run_id, 1 FROM executor.runs WHERE id = ? AND parent_run_id IS NOT NULL
                          UNION ALL
                          SELECT r.parent_run_id, up.depth + 1 FROM executor.runs r JOIN up ON r.id = up.id
                           WHERE r.parent_run_id IS NOT NULL AND up.depth < 100)
                        SELECT coalesce(max(depth), 0) FROM up""")) {
            ps.setObject(1, run);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    /** The running child runs of a run. */
    public List<UUID> runningChildren(Connection c, UUID parent) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT id FROM executor.runs WHERE parent_run_id = ? AND status ="
                                + " 'running'")) {
            ps.setObject(1, parent);
            List<UUID> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add((UUID) rs.getObject(1));
                }
            }
            return out;
        }
    }

    /** The child runs of a run, oldest first. */
    public List<Child> children(Connection c, UUID parent) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT id, namespace || '/' || workflow, parent_step, parent_item, status"
                                + " FROM executor.runs WHERE parent_run_id = ? ORDER BY created_at")) {
            ps.setObject(1, parent);
            List<Child> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    int item = rs.getInt(4);
                    out.add(
                            new Child(
                                    (UUID) rs.getObject(1),
                                    rs.getString(2),
                                    rs.getString(3),
                                    item < 0 ? null : item,
                                    RunStatus.of(rs.getString(5))));
                }
            }
            return out;
        }
    }

    /** The run an idempotency key names, or null. */
    public Started byKey(Connection c, String key) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT id, status, request_hash FROM executor.runs WHERE idempotency_key"
                                + " = ?")) {
            ps.setString(1, key);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next()
                        ? new Started(
                                (UUID) rs.getObject(1),
                                RunStatus.of(rs.getString(2)),
                                rs.getString(3),
                                true)
                        : null;
            }
        }
    }

    /**
     * Locks the run row, adding what a step spent to the run in the same statement; null when the
     * run is gone.
     */
    public Locked lockAndAdd(Connection c, UUID runId, long tokens, double cost)
            throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        "UPDATE executor.runs SET tokens = tokens + ?, cost_usd = cost_usd + ?"
                                + " WHERE id = ? RETURNING status, namespace, workflow, revision")) {
            ps.setLong(1, tokens);
            ps.setDouble(2, cost);
            ps.setObject(3, runId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next()
                        ? new Locked(
                                RunStatus.of(rs.getString(1)),
                                rs.getString(2),
                                rs.getString(3),
                                rs.getString(4))
                        : null;
            }
        }
    }

    /** The run ends with {@code status} and why. */
    public void end(Connection c, UUID runId, RunStatus status, String reason) throws SQLException {
        StepStore.update(
                c,
                "UPDATE executor.runs SET status = ?, reason = ?, finished_at = now() WHERE id = ?",
                status.db(),
                reason,
                runId);
    }

    /**
     * The run succeeds: its output is the output of its one last step, or an object of the outputs
     * of its last steps ({@code sinks}).
     */
    public void succeed(Connection c, UUID runId, List<String> sinks) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        """
                UPDATE executor.runs SET status = 'succeeded', finished_at = now(), output =
                       (SELECT CASE WHEN count(*) = 1 THEN min(coalesce(output, 'null'::jsonb)::text)::jsonb
                                    ELSE jsonb_object_agg(step_id, coalesce(output, 'null'::jsonb)) END
                          FROM executor.steps WHERE run_id = ? AND item = -1 AND step_id = ANY (?))
                 WHERE id = ?""")) {
            ps.setObject(1, runId);
            ps.setArray(2, c.createArrayOf("text", sinks.toArray()));
            ps.setObject(3, runId);
            ps.executeUpdate();
        }
    }

    /**
     * Deletes up to {@code batch} runs that ended more than {@code retention} ago, oldest first,
     * with their steps and events (cascade); rows another pod is deleting are skipped.
     */
    public int purgeEnded(Connection c, Duration retention, int batch) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        """
                DELETE FROM executor.runs WHERE id IN (
                  SELECT id FROM executor.runs WHERE status <> 'running' AND finished_at < now() - make_interval(secs => ?)
                   ORDER BY finished_at LIMIT ? FOR UPDATE SKIP LOCKED)""")) {
            ps.setDouble(1, retention.toMillis() / 1000.0);
            ps.setInt(2, batch);
            return ps.executeUpdate();
        }
    }

    /** The run with this id (without its steps), or null. */
    public View get(Connection c, UUID id) throws SQLException {
        List<View> runs = select(c, "WHERE id = ?", List.of(id), 1);
        return runs.isEmpty() ? null : runs.get(0);
    }

    /**
     * Runs newest first, at most {@code limit}, of a workflow ({@code namespace} and {@code
     * workflow}), of a status, and started since a time, each when given (null for any).
     */
    public List<View> list(
            Connection c,
            String namespace,
            String workflow,
            RunStatus status,
            Instant since,
            int limit)
            throws SQLException {
        List<String> where = new ArrayList<>();
        List<Object> params = new ArrayList<>();
        if (namespace != null) {
            where.add("namespace = ?");
            params.add(namespace);
        }
        if (workflow != null) {
            where.add("workflow = ?");
            params.add(workflow);
        }
        if (status != null) {
            where.add("status = ?");
            params.add(status.db());
        }
        if (since != null) {
            where.add("created_at >= ?");
            params.add(java.sql.Timestamp.from(since));
        }
        return select(
                c, where.isEmpty() ? "" : "WHERE " + String.join(" AND ", where), params, limit);
    }

    private List<View> select(Connection c, String where, List<Object> params, int limit)
            throws SQLException {
        List<View> runs = new ArrayList<>();
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT id, namespace || '/' || workflow, revision, status, reason,"
                                + " output::text, tokens, cost_usd, created_at, finished_at,"
                                + " parent_run_id, parent_step, parent_item FROM executor.runs "
                                + where
                                + " ORDER BY created_at DESC LIMIT ?")) {
            int i = 0;
            for (Object p : params) {
                ps.setObject(++i, p);
            }
            ps.setInt(++i, limit);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    runs.add(
                            new View(
                                    (UUID) rs.getObject(1),
                                    rs.getString(2),
                                    rs.getString(3),
                                    RunStatus.of(rs.getString(4)),
                                    rs.getString(5),
                                    parse(rs.getString(6)),
                                    rs.getLong(7),
                                    rs.getDouble(8),
                                    StepStore.instant(rs.getTimestamp(9)),
                                    StepStore.instant(rs.getTimestamp(10)),
                                    rs.getObject(11) == null
                                            ? null
                                            : new Parent(
                                                    (UUID) rs.getObject(11),
                                                    rs.getString(12),
                                                    rs.getInt(13) < 0 ? null : rs.getInt(13),
                                                    false),
                                    null,
                                    null));
                }
            }
        }
        return runs;
    }

    private JsonNode parse(String text) {
        try {
            return text == null ? null : json.readTree(text);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
