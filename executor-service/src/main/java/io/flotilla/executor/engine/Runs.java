package io.flotilla.executor.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.flotilla.common.workflow.WorkflowSpec;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.UUID;
import javax.sql.DataSource;

/** Starting runs (idempotently), cancelling them, and deleting them after the retention. */
@ApplicationScoped
public class Runs {

    /**
     * A run as stored: its id and status, and whether an earlier request with the same idempotency
     * key made it.
     */
    public record Started(UUID id, String status, String requestHash, boolean replayed) {}

    private final DataSource ds;
    private final Checkpoints checkpoints;
    private final Wakeups wakeups;

    Runs(DataSource ds, Checkpoints checkpoints, Wakeups wakeups) {
        this.ds = ds;
        this.checkpoints = checkpoints;
        this.wakeups = wakeups;
    }

    /**
     * Stores a new run with its steps and makes its first steps ready, in one transaction; with an
     * idempotency key that is already taken, answers the run it names instead.
     */
    public Started start(
            UUID id,
            String namespace,
            String workflow,
            String revision,
            WorkflowSpec spec,
            JsonNode input,
            JsonNode budget,
            String idempotencyKey,
            String requestHash,
            String traceParent)
            throws SQLException {
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try {
                RunTx tx = new RunTx(c, id);
                int inserted =
                        tx.update(
                                "INSERT INTO executor.runs (id, namespace, workflow, revision, input, status, budget, idempotency_key, "
                                        + "request_hash, trace_parent) VALUES (?, ?, ?, ?, ?::jsonb, 'running', ?::jsonb, ?, ?, ?) "
                                        + "ON CONFLICT (idempotency_key) DO NOTHING",
                                id,
                                namespace,
                                workflow,
                                revision,
                                input.toString(),
                                RunTx.json(budget),
                                idempotencyKey,
                                requestHash,
                                traceParent);
                if (inserted == 0) {
                    c.rollback();
                    return byKey(c, idempotencyKey);
                }
                try (PreparedStatement ps =
                        c.prepareStatement(
                                "INSERT INTO executor.steps (run_id, step_id, status) "
                                        + "SELECT ?, unnest(?::text[]), 'waiting'")) {
                    ps.setObject(1, id);
                    ps.setArray(
                            2,
                            c.createArrayOf(
                                    "text",
                                    spec.steps().stream().map(WorkflowSpec.Step::id).toArray()));
                    ps.executeUpdate();
                }
                tx.event(
                        "run.started",
                        null,
                        null,
                        JsonNodeFactory.instance
                                .objectNode()
                                .put("workflow", namespace + "/" + workflow)
                                .put("revision", revision));
                Advance.run(tx, spec, () -> input);
                c.commit();
                checkpoints.count("started");
                checkpoints.ended(tx);
                wakeups.announce(id, tx.madeReady);
                return new Started(id, tx.ended == null ? "running" : tx.ended, requestHash, false);
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
    }

    /** The run an idempotency key names, or null. */
    public Started byKey(String idempotencyKey) throws SQLException {
        try (Connection c = ds.getConnection()) {
            return byKey(c, idempotencyKey);
        }
    }

    private static Started byKey(Connection c, String key) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT id, status, request_hash FROM executor.runs WHERE idempotency_key = ?")) {
            ps.setString(1, key);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next()
                        ? new Started(
                                (UUID) rs.getObject(1), rs.getString(2), rs.getString(3), true)
                        : null;
            }
        }
    }

    /**
     * Cancels a running run: steps not started are cancelled now, steps in flight when they return.
     * Null when there is no such run.
     */
    public String cancel(UUID runId) throws SQLException {
        return checkpoints.inRun(
                runId,
                tx -> {
                    RunTx.LockedRun run = tx.lockRun(0, 0);
                    if (run == null) {
                        return null;
                    }
                    if (run.running()) {
                        Failure.end(tx, "cancelled", "cancelled by request");
                        return "cancelled";
                    }
                    return run.status();
                });
    }

    /**
     * Deletes up to {@code batch} runs that ended more than {@code retention} ago, oldest first,
     * with their steps and events; rows another pod is deleting are skipped. Returns how many.
     */
    public int purgeEnded(Duration retention, int batch) throws SQLException {
        try (Connection c = ds.getConnection();
                PreparedStatement ps =
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
}
