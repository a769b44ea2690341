package io.flotilla.executor.store;

import com.fasterxml.jackson.databind.JsonNode;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.RowSet;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.UUID;

/**
 * Every statement on {@code executor.events} but the two that write an event with its step's
 * transition ({@link StepStore}): the engine inserts in its transactions (JDBC), the API pages
 * through a run's events for SSE (reactive).
 */
@ApplicationScoped
public class EventStore {

    private final Pool pool;

    EventStore(Pool pool) {
        this.pool = pool;
    }

    /**
     * Appends an event of a run (a step's when {@code stepId} is set, an item's when {@code item}).
     */
    public void insert(
            Connection c, UUID runId, String type, String stepId, Integer item, JsonNode data)
            throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        "INSERT INTO executor.events (run_id, type, step_id, item, data) VALUES (?,"
                                + " ?, ?, ?, ?::jsonb)")) {
            ps.setObject(1, runId);
            ps.setString(2, type);
            ps.setString(3, stepId);
            ps.setObject(4, item);
            ps.setString(5, data == null ? null : data.toString());
            ps.executeUpdate();
        }
    }

    /** Up to {@code limit} events of a run after the event id {@code after}, oldest first. */
    public Uni<RowSet<Row>> page(UUID runId, long after, int limit) {
        return pool.preparedQuery(
                        "SELECT id, type, step_id, item, data, at FROM executor.events"
                                + " WHERE run_id = $1 AND id > $2 ORDER BY id LIMIT $3")
                .execute(Tuple.of(runId, after, limit));
    }
}
