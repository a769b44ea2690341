package io.flotilla.executor.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.UUID;

/**
 * One transaction on one run, holding the run row's lock: every change to a run's steps happens in
 * such a transaction, so the DAG advances one transition at a time per run, on any pod. Events it
 * writes and the wake-ups it sends are committed with it.
 */
final class RunTx {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String CHANNEL_READY = "flotilla_ready";
    static final String CHANNEL_RUN = "flotilla_run";

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

    void event(String type, String stepId, Integer item, JsonNode data) throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement(
                "INSERT INTO executor.events (run_id, type, step_id, item, data) VALUES (?, ?, ?, ?, ?::jsonb)")) {
            ps.setObject(1, runId);
            ps.setString(2, type);
            ps.setString(3, stepId);
            ps.setObject(4, item);
            ps.setString(5, data == null ? null : data.toString());
            ps.executeUpdate();
        }
    }

    /** Sends the wake-ups; Postgres delivers them when the transaction commits. */
    void notifyListeners() throws SQLException {
        try (PreparedStatement ps = conn.prepareStatement("SELECT pg_notify(?, ?)" + (madeReady ? ", pg_notify(?, '')" : ""))) {
            ps.setString(1, CHANNEL_RUN);
            ps.setString(2, runId.toString());
            if (madeReady) {
                ps.setString(3, CHANNEL_READY);
            }
            ps.execute();
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

    static String json(JsonNode node) {
        return node == null ? null : node.toString();
    }
}
