package io.flotilla.executor.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.executor.step.RunStatus;
import io.flotilla.executor.step.StepStatus;
import io.flotilla.executor.store.DecisionStore;
import io.flotilla.executor.store.RunStore;
import io.flotilla.executor.store.RunStore.Started;
import io.flotilla.executor.store.StepStore;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.UUID;
import javax.sql.DataSource;

/** Starting runs (idempotently), cancelling them, and deleting them after the retention. */
@ApplicationScoped
public class Runs {

    private final DataSource ds;
    private final Checkpoints checkpoints;
    private final Wakeups wakeups;
    private final RunStore runs;
    private final StepStore steps;

    private final DecisionStore decisions;

    Runs(
            DataSource ds,
            Checkpoints checkpoints,
            Wakeups wakeups,
            RunStore runs,
            StepStore steps,
            DecisionStore decisions) {
        this.ds = ds;
        this.decisions = decisions;
        this.checkpoints = checkpoints;
        this.wakeups = wakeups;
        this.runs = runs;
        this.steps = steps;
    }

    /**
     * Stores a new run (a child run: with its parent) with its steps and makes its first steps
     * ready, in one transaction; with an idempotency key that is already taken, answers the run it
     * names instead.
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
            String traceParent,
            RunStore.Parent parent)
            throws SQLException {
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try {
                RunTx tx = checkpoints.tx(c, id);
                if (!runs.insert(
                        c,
                        id,
                        namespace,
                        workflow,
                        revision,
                        input,
                        budget,
                        idempotencyKey,
                        requestHash,
                        traceParent,
                        parent)) {
                    c.rollback();
                    return runs.byKey(c, idempotencyKey);
                }
                steps.insertWaiting(
                        c, id, spec.steps().stream().map(WorkflowSpec.Step::id).toList());
                tx.event(
                        "run.started",
                        null,
                        null,
                        JsonNodeFactory.instance
                                .objectNode()
                                .put("workflow", namespace + "/" + workflow)
                                .put("revision", revision));
                Advance.run(tx, spec);
                c.commit();
                checkpoints.count("started");
                checkpoints.ended(tx);
                wakeups.announce(id, tx.madeReady);
                return new Started(
                        id, tx.ended == null ? RunStatus.RUNNING : tx.ended, requestHash, false);
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
    }

    /** The run an idempotency key names, or null. */
    public Started byKey(String idempotencyKey) throws SQLException {
        try (Connection c = ds.getConnection()) {
            return runs.byKey(c, idempotencyKey);
        }
    }

    /**
     * Cancels a running run: steps not started are cancelled now, steps in flight when they return.
     * Null when there is no such run.
     */
    public RunStatus cancel(UUID runId) throws SQLException {
        return checkpoints.inRun(
                runId,
                tx -> {
                    RunTx.LockedRun run = tx.lockRun(0, 0);
                    if (run == null) {
                        return null;
                    }
                    if (run.running()) {
                        Failure.end(tx, RunStatus.CANCELLED, "cancelled by request");
                        return RunStatus.CANCELLED;
                    }
                    return run.status();
                });
    }

    /**
     * A decision on an approval step (or a foreach item of it: {@code item} ≥ 0). Recorded, with an
     * event, and the step made ready, only when it is awaiting approval; answers the step's status
     * before (null: no such step).
     */
    public StepStatus decide(
            UUID runId,
            String stepId,
            int item,
            boolean approved,
            String by,
            String comment,
            String caller)
            throws SQLException {
        return checkpoints.inRun(
                runId,
                tx -> {
                    StepStatus before = tx.steps.decided(tx.conn, runId, stepId, item);
                    if (before == StepStatus.AWAITING_APPROVAL) {
                        decisions.insert(
                                tx.conn, runId, stepId, item, approved, by, comment, caller);
                        ObjectNode data = JsonNodeFactory.instance.objectNode().put("by", by);
                        if (comment != null) {
                            data.put("comment", comment);
                        }
                        tx.event(
                                approved ? "step.approved" : "step.rejected",
                                stepId,
                                item < 0 ? null : item,
                                data);
                        tx.madeReady = true;
                    }
                    return before;
                });
    }

    /**
     * Deletes up to {@code batch} runs that ended more than {@code retention} ago, oldest first,
     * with their steps and events; rows another pod is deleting are skipped. Returns how many.
     */
    public int purgeEnded(Duration retention, int batch) throws SQLException {
        try (Connection c = ds.getConnection()) {
            return runs.purgeEnded(c, retention, batch);
        }
    }
}
