package io.flotilla.executor.engine;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.sql.SQLException;

/** Ending a run that failed: the failing step and its fan-out are marked, the rest of the run stops. */
final class Failure {

    private Failure() {
    }

    static void failRun(RunTx tx, String stepId, int item, String reason) throws SQLException {
        tx.update("UPDATE executor.steps SET status = 'failed', error = ?, finished_at = now(), lease_owner = NULL "
                + "WHERE run_id = ? AND step_id = ? AND (item = ? OR item = -1)", reason, tx.runId, stepId, item);
        tx.event("step.failed", stepId, item < 0 ? null : item, JsonNodeFactory.instance.objectNode().put("error", reason));
        end(tx, "failed", reason);
    }

    /** Ends the run: steps not started are cancelled, steps in flight are cancelled when they return. */
    static void end(RunTx tx, String status, String reason) throws SQLException {
        tx.update("UPDATE executor.steps SET status = 'cancelled', finished_at = now() "
                + "WHERE run_id = ? AND status IN ('waiting', 'ready', 'fanout')", tx.runId);
        tx.update("UPDATE executor.steps SET status = 'cancelling' WHERE run_id = ? AND status = 'running'", tx.runId);
        tx.update("UPDATE executor.runs SET status = ?, reason = ?, finished_at = now() WHERE id = ?", status, reason, tx.runId);
        tx.ended = status;
        tx.reason = reason;
        tx.event("run." + status, null, null, JsonNodeFactory.instance.objectNode().put("reason", reason));
    }
}
