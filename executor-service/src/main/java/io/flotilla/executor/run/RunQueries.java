package io.flotilla.executor.run;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.common.problem.ProblemException;
import io.flotilla.executor.workflow.WorkflowRef;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;

/** Reads runs and their steps for the API. */
@ApplicationScoped
public class RunQueries {

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A run with its status, output, tokens, cost, and (in detail) its steps. */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record RunView(
            UUID id,
            String workflow,
            String revision,
            String status,
            String reason,
            JsonNode output,
            long tokens,
            double costUsd,
            Instant createdAt,
            Instant finishedAt,
            List<StepView> steps) {}

    /** One step (or one foreach item of it: {@code item} set). */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record StepView(
            String id,
            Integer item,
            String status,
            int attempts,
            int iteration,
            long tokens,
            double costUsd,
            String error,
            Instant startedAt,
            Instant finishedAt,
            JsonNode output) {}

    private final DataSource ds;

    RunQueries(DataSource ds) {
        this.ds = ds;
    }

    static ProblemException notFound(UUID id) {
        return new ProblemException(
                404, "Unknown run", "no run " + id + "; list runs with GET /api/v1/runs");
    }

    public RunView get(UUID id) throws SQLException {
        try (Connection c = ds.getConnection()) {
            List<RunView> runs = runs(c, "WHERE id = ?", List.of(id), 1);
            if (runs.isEmpty()) {
                throw notFound(id);
            }
            RunView r = runs.get(0);
            List<StepView> steps = new ArrayList<>();
            try (PreparedStatement ps =
                    c.prepareStatement(
                            """
                    SELECT step_id, item, status, attempt, iteration, tokens, cost_usd, error, started_at, finished_at, output::text
                      FROM executor.steps WHERE run_id = ? ORDER BY started_at NULLS LAST, step_id, item""")) {
                ps.setObject(1, id);
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        int item = rs.getInt(2);
                        steps.add(
                                new StepView(
                                        rs.getString(1),
                                        item < 0 ? null : item,
                                        rs.getString(3),
                                        rs.getInt(4),
                                        rs.getInt(5),
                                        rs.getLong(6),
                                        rs.getDouble(7),
                                        rs.getString(8),
                                        instant(rs.getTimestamp(9)),
                                        instant(rs.getTimestamp(10)),
                                        json(rs.getString(11))));
                    }
                }
            }
            return new RunView(
                    r.id(),
                    r.workflow(),
                    r.revision(),
                    r.status(),
                    r.reason(),
                    r.output(),
                    r.tokens(),
                    r.costUsd(),
                    r.createdAt(),
                    r.finishedAt(),
                    steps);
        }
    }

    /** Runs newest first, filtered by workflow ({@code namespace/name}) and status. */
    public List<RunView> list(WorkflowRef workflow, String status, int limit) throws SQLException {
        List<String> where = new ArrayList<>();
        List<Object> params = new ArrayList<>();
        if (workflow != null) {
            where.add("namespace = ? AND workflow = ?");
            params.add(workflow.namespace());
            params.add(workflow.name());
        }
        if (status != null) {
            where.add("status = ?");
            params.add(status);
        }
        try (Connection c = ds.getConnection()) {
            return runs(
                    c,
                    where.isEmpty() ? "" : "WHERE " + String.join(" AND ", where),
                    params,
                    limit);
        }
    }

    private static List<RunView> runs(Connection c, String where, List<Object> params, int limit)
            throws SQLException {
        List<RunView> runs = new ArrayList<>();
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT id, namespace || '/' || workflow, revision, status, reason, output::text, tokens, "
                                + "cost_usd, created_at, finished_at FROM executor.runs "
                                + where
                                + " ORDER BY created_at DESC LIMIT "
                                + limit)) {
            for (int i = 0; i < params.size(); i++) {
                ps.setObject(i + 1, params.get(i));
            }
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    runs.add(
                            new RunView(
                                    (UUID) rs.getObject(1),
                                    rs.getString(2),
                                    rs.getString(3),
                                    rs.getString(4),
                                    rs.getString(5),
                                    json(rs.getString(6)),
                                    rs.getLong(7),
                                    rs.getDouble(8),
                                    instant(rs.getTimestamp(9)),
                                    instant(rs.getTimestamp(10)),
                                    null));
                }
            }
        }
        return runs;
    }

    private static Instant instant(Timestamp t) {
        return t == null ? null : t.toInstant();
    }

    private static JsonNode json(String text) {
        try {
            return text == null ? null : JSON.readTree(text);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
