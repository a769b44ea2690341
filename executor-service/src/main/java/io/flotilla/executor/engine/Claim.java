package io.flotilla.executor.engine;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.UUID;

/**
 * A step this pod holds under a lease. {@code epoch} fences it: only the holder of the current
 * epoch can commit it. {@code failures} counts the failed attempts of its current iteration.
 */
public record Claim(UUID runId, String stepId, int item, int attempt, long epoch, int iteration, int failures, JsonNode itemValue) {

    /** The step's name in keys and messages: {@code id} or {@code id[item]}. */
    public String name() {
        return item < 0 ? stepId : stepId + "[" + item + "]";
    }

    /** The idempotency key of this execution's LLM calls: {@code run/step/attempt}. */
    public String idempotencyKey() {
        return runId + "/" + name() + "/" + attempt;
    }
}
