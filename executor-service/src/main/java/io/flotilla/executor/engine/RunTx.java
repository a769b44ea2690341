package io.flotilla.executor.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.executor.step.RunStatus;
import io.flotilla.executor.store.EventStore;
import io.flotilla.executor.store.RunStore;
import io.flotilla.executor.store.StepStore;
import io.flotilla.executor.workflow.Specs;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.UUID;

/**
 * One transaction on one run. Whatever decides the run's next steps does so holding the run row's
 * lock ({@link #lockRun}), taken as late as possible, so the DAG advances one transition at a time
 * per run, on any pod, and parallel steps of a run wait for each other only briefly. Events are
 * committed with the transaction; the wake-ups it calls for go out after the commit ({@link
 * Wakeups}). Every statement goes through the tables' stores on this transaction's connection.
 */
final class RunTx {

    /** The stores a run transaction writes through, the parsed specs, and the JSON mapper. */
    record Tables(
            StepStore steps, RunStore runs, EventStore events, Specs specs, ObjectMapper json) {}

    final Connection conn;
    final UUID runId;
    final StepStore steps;
    final RunStore runs;
    private final Tables tables;

    boolean madeReady;

    /** The status the run ended with in this transaction, if it ended. */
    RunStatus ended;

    /** Why it ended, when it did not succeed. */
    String reason;

    RunTx(Connection conn, UUID runId, Tables tables) {
        this.conn = conn;
        this.runId = runId;
        this.tables = tables;
        this.steps = tables.steps();
        this.runs = tables.runs();
    }

    /** The run as locked by a transaction: its status and spec. */
    record LockedRun(RunStatus status, WorkflowSpec spec) {
        boolean running() {
            return status == RunStatus.RUNNING;
        }
    }

    /**
     * Locks the run row, adding what a step spent to the run in the same statement; null when the
     * run is gone.
     */
    LockedRun lockRun(long tokens, double cost) throws SQLException {
        RunStore.Locked r = runs.lockAndAdd(conn, runId, tokens, cost);
        return r == null
                ? null
                : new LockedRun(
                        r.status(),
                        tables.specs().of(conn, r.namespace(), r.workflow(), r.revision()));
    }

    void event(String type, String stepId, Integer item, JsonNode data) throws SQLException {
        tables.events().insert(conn, runId, type, stepId, item, data);
    }
}
