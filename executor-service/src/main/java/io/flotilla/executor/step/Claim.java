package io.flotilla.executor.step;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.UUID;

/**
 * A step this pod holds under a lease. {@code epoch} fences it: only the holder of the current
 * epoch can commit it. {@code failures} counts the failed attempts of its current iteration. The
 * run's row comes with it (one query per claim, not one per step). {@code reclaims} counts the
 * times it was taken back from an executor whose lease expired. {@code startedAt} is when the step
 * (or its item) was first claimed.
 */
public record Claim(
        UUID runId,
        String stepId,
        int item,
        int attempt,
        long epoch,
        int iteration,
        int failures,
        int reclaims,
        Instant startedAt,
        JsonNode itemValue,
        Run run) {

    /**
     * The step's run as read with the claim: its status, revision, input, whether it has a budget
     * scope, its trace.
     */
    public record Run(
            RunStatus status,
            String namespace,
            String workflow,
            String revision,
            String input,
            boolean budgetScope,
            String traceParent) {}

    /** The step's name in keys and messages: {@code id} or {@code id[item]}. */
    public String name() {
        return item < 0 ? stepId : stepId + "[" + item + "]";
    }

    /**
     * The idempotency key of this execution's LLM calls: {@code run/step/i<iteration>/f<failures>}.
     * A step reclaimed from a dead executor keeps its key (its attempt never committed, so neither
     * the iteration nor the failures moved): the gateway answers the repeat from the dead attempt's
     * call instead of paying for it again. A retry after a failure, and each loop iteration, get
     * new keys.
     */
    public String idempotencyKey() {
        return runId + "/" + name() + "/i" + iteration + "/f" + failures;
    }
}
