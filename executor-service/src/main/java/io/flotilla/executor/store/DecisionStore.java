package io.flotilla.executor.store;

import jakarta.enterprise.context.ApplicationScoped;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.UUID;

/** Every statement on {@code executor.decisions}: the decisions on approval steps. */
@ApplicationScoped
public class DecisionStore {

    /** A decision as taken: approved or rejected, by whom, why, when. */
    public record Decision(boolean approved, String by, String comment, Instant at) {}

    /** Records a decision; false when the step already has one (a decision is taken once). */
    public boolean insert(
            Connection c,
            UUID runId,
            String stepId,
            int item,
            boolean approved,
            String by,
            String comment,
            String caller)
            throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        "INSERT INTO executor.decisions (run_id, step_id, item, decision, decided_by,"
                                + " comment, caller) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO"
                                + " NOTHING")) {
            ps.setObject(1, runId);
            ps.setString(2, stepId);
            ps.setInt(3, item);
            ps.setString(4, approved ? "approved" : "rejected");
            ps.setString(5, by);
            ps.setString(6, comment);
            ps.setString(7, caller);
            return ps.executeUpdate() == 1;
        }
    }

    /** The decision on a step (or item), or null. */
    public Decision find(Connection c, UUID runId, String stepId, int item) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT decision, decided_by, comment, decided_at FROM executor.decisions"
                                + " WHERE run_id = ? AND step_id = ? AND item = ?")) {
            ps.setObject(1, runId);
            ps.setString(2, stepId);
            ps.setInt(3, item);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next()
                        ? new Decision(
                                rs.getString(1).equals("approved"),
                                rs.getString(2),
                                rs.getString(3),
                                rs.getTimestamp(4).toInstant())
                        : null;
            }
        }
    }
}
