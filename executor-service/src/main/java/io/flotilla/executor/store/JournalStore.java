package io.flotilla.executor.store;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.executor.step.Claim;
import jakarta.inject.Singleton;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@code journal} table: checkpoints within a step execution ({@link
 * io.flotilla.executor.step.Journal}).
 */
@Singleton
public class JournalStore {

    private final ObjectMapper json;

    JournalStore(ObjectMapper json) {
        this.json = json;
    }

    /** The entries of the claim's step, item and iteration, oldest first. */
    public List<JsonNode> read(Connection c, Claim claim) throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT entry::text FROM executor.journal WHERE run_id = ? AND step_id = ?"
                                + " AND item = ? AND iteration = ? ORDER BY seq")) {
            ps.setObject(1, claim.runId());
            ps.setString(2, claim.stepId());
            ps.setInt(3, claim.item());
            ps.setInt(4, claim.iteration());
            List<JsonNode> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(json.readTree(rs.getString(1)));
                }
            }
            return out;
        } catch (JsonProcessingException e) {
            throw new SQLException("a journal entry is not JSON", e);
        }
    }

    /**
     * Appends entry {@code seq}, adding its tokens and cost to the step and the run, in one
     * statement that only the holder of the claim's epoch can make; false when it holds it no more.
     */
    public boolean append(
            Connection c, Claim claim, int seq, JsonNode entry, long tokens, double cost)
            throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        """
                        WITH held AS (
                          UPDATE executor.steps SET tokens = tokens + ?, cost_usd = cost_usd + ?
                           WHERE run_id = ? AND step_id = ? AND item = ? AND epoch = ? AND status = 'running'
                          RETURNING run_id),
                        run AS (
                          UPDATE executor.runs SET tokens = tokens + ?, cost_usd = cost_usd + ?
                           WHERE id IN (SELECT run_id FROM held))
                        INSERT INTO executor.journal (run_id, step_id, item, iteration, seq, entry, tokens, cost_usd)
                        SELECT run_id, ?, ?, ?, ?, ?::jsonb, ?, ? FROM held
                        """)) {
            BigDecimal usd = BigDecimal.valueOf(cost);
            int i = 0;
            ps.setLong(++i, tokens);
            ps.setBigDecimal(++i, usd);
            ps.setObject(++i, claim.runId());
            ps.setString(++i, claim.stepId());
            ps.setInt(++i, claim.item());
            ps.setLong(++i, claim.epoch());
            ps.setLong(++i, tokens);
            ps.setBigDecimal(++i, usd);
            ps.setString(++i, claim.stepId());
            ps.setInt(++i, claim.item());
            ps.setInt(++i, claim.iteration());
            ps.setInt(++i, seq);
            ps.setString(++i, entry.toString());
            ps.setLong(++i, tokens);
            ps.setBigDecimal(++i, usd);
            return ps.executeUpdate() == 1;
        }
    }
}
