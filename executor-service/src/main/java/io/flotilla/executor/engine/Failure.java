package io.flotilla.executor.engine;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.flotilla.executor.step.RunStatus;
import java.sql.SQLException;

/**
 * Ending a run: the failing step and its fan-out are marked, the rest of the run stops. Called
 * holding the run lock.
 */
final class Failure {

    private Failure() {}

    /**
     * Ends the run: steps not started are cancelled; steps in flight are marked cancelling and end
     * as cancelled when they return (see {@code StepStore.stopRun} for why this cannot deadlock).
     */
    static void end(RunTx tx, RunStatus status, String reason) throws SQLException {
        tx.steps.stopRun(tx.conn, tx.runId);
        tx.runs.end(tx.conn, tx.runId, status, reason);
        tx.steps.wakeParent(tx.conn, tx.runId);
        tx.ended = status;
        tx.reason = reason;
        tx.event(
                "run." + status.db(),
                null,
                null,
                JsonNodeFactory.instance.objectNode().put("reason", reason));
    }

    /** A short, stored-safe description of an exception: its type and the start of its message. */
    static String describe(Throwable e) {
        String message = e.getMessage() == null ? "" : e.getMessage().strip();
        if (message.length() > 200) {
            message = message.substring(0, 200) + "...";
        }
        return e.getClass().getSimpleName() + (message.isEmpty() ? "" : ": " + message);
    }
}
