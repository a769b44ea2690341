package io.flotilla.executor.step;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * What a step execution has finished so far, checkpointed as it completes: an agent's model turns
 * and tool results. It belongs to the step's current iteration (and foreach item) and outlives the
 * execution: an executor that takes the step over, or a retry after a failure, reads it and goes on
 * from there instead of repeating what is in it.
 */
public interface Journal {

    /** The entries so far, oldest first. */
    List<JsonNode> entries();

    /**
     * Appends an entry, and charges {@code tokens} and {@code cost} (what producing it spent) to
     * the step and its run at once, so they are counted once whatever happens next. Fenced by the
     * claim: a pod that lost the step stores nothing and gets an {@link IllegalStateException}.
     */
    void append(JsonNode entry, long tokens, double cost);
}
