package io.flotilla.executor.run;

import io.flotilla.common.problem.ProblemException;
import io.flotilla.executor.step.RunStatus;
import io.flotilla.executor.store.RunStore;
import io.flotilla.executor.store.StepStore;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;

/** Reads runs and their steps for the API. */
@ApplicationScoped
public class RunQueries {

    private final DataSource ds;
    private final RunStore runs;
    private final StepStore steps;

    RunQueries(DataSource ds, RunStore runs, StepStore steps) {
        this.ds = ds;
        this.runs = runs;
        this.steps = steps;
    }

    static ProblemException notFound(UUID id) {
        return new ProblemException(
                404, "Unknown run", "no run " + id + "; list runs with GET /api/v1/runs");
    }

    /** A run with every step and foreach item. */
    public RunStore.View get(UUID id) throws SQLException {
        try (Connection c = ds.getConnection()) {
            RunStore.View run = runs.get(c, id);
            if (run == null) {
                throw notFound(id);
            }
            return run.withSteps(runs.children(c, id), steps.views(c, id));
        }
    }

    /** How many ancestors a run has (0: it is no child run). */
    int depth(UUID id) throws SQLException {
        try (Connection c = ds.getConnection()) {
            return runs.depth(c, id);
        }
    }

    /**
     * Runs newest first, filtered by namespace, workflow name, status and start (each optional).
     */
    public List<RunStore.View> list(
            String namespace, String workflow, RunStatus status, java.time.Instant since, int limit)
            throws SQLException {
        try (Connection c = ds.getConnection()) {
            return runs.list(c, namespace, workflow, status, since, limit);
        }
    }
}
