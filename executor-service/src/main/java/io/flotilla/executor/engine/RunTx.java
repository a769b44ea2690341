package io.flotilla.executor.engine;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.flotilla.common.workflow.WorkflowSpec;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import java.util.UUID;

/**
 * One transaction on one run. Whatever decides the run's next steps does so holding the run row's
 * lock ({@link #lockRun}), taken as late as possible, so the DAG advances one transition at a time
 * per run, on any pod, and parallel steps of a run wait for each other only briefly. Events are
 * committed with the transaction; the wake-ups it calls for go out after the commit ({@link
 * Wakeups}).
 */
final class RunTx {

    static final ObjectMapper JSON = new ObjectMapper();

    final Connection conn;
    final UUID runId;
    boolean madeReady;

    /** The status the run ended with in this transaction, if it ended. */
    String ended;

    /** Why it ended, when it did not succeed. */
    String reason;

    RunTx(Connection conn, UUID runId) {
        this.conn = conn;
        this.runId = runId;
    }

    /** The run as locked by a transaction; its input is parsed only when something needs it. */
    record LockedRun(String status, String inputText, WorkflowSpec spec) {
        boolean running() {
            return status.equals("running");
        }

        JsonNode input() {
            try {
                return JSON.readTree(inputText);
            } catch (JsonProcessingException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /**
     * Locks the run row, adding what a step spent to the run in the same statement; null when the
     * run is gone.
     */
    LockedRun lockRun(long tokens, double cost) throws SQLException {
        try (PreparedStatement ps =
                conn.prepareStatement(
                        "UPDATE executor.runs SET tokens = tokens + ?, cost_usd = cost_usd + ? WHERE id = ? "
                                + "RETURNING status, input::text, namespace, workflow, revision")) {
            ps.setLong(1, tokens);
            ps.setDouble(2, cost);
            ps.setObject(3, runId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                return new LockedRun(
                        rs.getString(1),
                        rs.getString(2),
                        Specs.of(conn, rs.getString(3), rs.getString(4), rs.getString(5)));
            }
        }
    }

    void event(String type, String stepId, Integer item, JsonNode data) throws SQLException {
        try (PreparedStatement ps =
                conn.prepareStatement(
                        "INSERT INTO executor.events (run_id, type, step_id, item, data) VALUES (?, ?, ?, ?, ?::jsonb)")) {
            ps.setObject(1, runId);
            ps.setString(2, type);
            ps.setString(3, stepId);
            ps.setObject(4, item);
            ps.setString(5, data == null ? null : data.toString());
            ps.executeUpdate();
        }
    }

    int update(String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            for (int i = 0; i < params.length; i++) {
                ps.setObject(i + 1, params[i]);
            }
            return ps.executeUpdate();
        }
    }

    /**
     * The outputs of a run's finished steps (a skipped step's is null): what templates and
     * conditions see.
     */
    static Map<String, JsonNode> finishedOutputs(Connection conn, UUID runId) throws SQLException {
        Map<String, JsonNode> outputs = new HashMap<>();
        try (PreparedStatement ps =
                conn.prepareStatement(
                        "SELECT step_id, output::text FROM executor.steps "
                                + "WHERE run_id = ? AND item = -1 AND status IN ('succeeded', 'skipped')")) {
            ps.setObject(1, runId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String out = rs.getString(2);
                    outputs.put(
                            rs.getString(1),
                            out == null ? JsonNodeFactory.instance.nullNode() : JSON.readTree(out));
                }
            }
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
        return outputs;
    }

    static String json(JsonNode node) {
        return node == null ? null : node.toString();
    }
}
