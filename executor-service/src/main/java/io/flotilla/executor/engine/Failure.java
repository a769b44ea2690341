package io.flotilla.executor.engine;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import java.sql.SQLException;

/**
 * Ending a run: the failing step and its fan-out are marked, the rest of the run stops. Called
 * holding the run lock.
 */
final class Failure {

    private Failure() {}

    /**
     * A step that failed outside an execution (its when or foreach could not be evaluated) fails
     * the run.
     */
    static void failStep(RunTx tx, String stepId, int item, String reason) throws SQLException {
        tx.update(
                "UPDATE executor.steps SET status = 'failed', error = ?, finished_at = now(), lease_owner = NULL "
                        + "WHERE run_id = ? AND step_id = ? AND (item = ? OR item = -1)",
                reason,
                tx.runId,
                stepId,
                item);
        tx.event(
                "step.failed",
                stepId,
                item < 0 ? null : item,
                JsonNodeFactory.instance.objectNode().put("error", reason));
        end(tx, "failed", reason);
    }

    /**
     * Ends the run: steps not started are cancelled; steps in flight are marked cancelling and end
     * as cancelled when they return. Rows another transaction holds are skipped rather than waited
     * for (those transactions take this run's lock next and find the run ended), so transactions
     * that lock their step first and the run second cannot deadlock with this one.
     */
    static void end(RunTx tx, String status, String reason) throws SQLException {
        tx.update(
                """
                UPDATE executor.steps s SET status = CASE WHEN s.status = 'running' THEN 'cancelling' ELSE 'cancelled' END,
                       finished_at = CASE WHEN s.status = 'running' THEN NULL ELSE now() END
                  FROM (SELECT run_id, step_id, item FROM executor.steps WHERE run_id = ? AND status IN ('waiting', 'ready', 'fanout', 'running')
                           FOR UPDATE SKIP LOCKED) c
                 WHERE s.run_id = c.run_id AND s.step_id = c.step_id AND s.item = c.item""",
                tx.runId);
        tx.update(
                "UPDATE executor.runs SET status = ?, reason = ?, finished_at = now() WHERE id = ?",
                status,
                reason,
                tx.runId);
        tx.ended = status;
        tx.reason = reason;
        tx.event(
                "run." + status,
                null,
                null,
                JsonNodeFactory.instance.objectNode().put("reason", reason));
    }
}
