package io.flotilla.executor.step;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.common.time.Durations;
import io.flotilla.common.workflow.Expressions;
import io.flotilla.common.workflow.WorkflowSpec;
import java.time.Duration;
import java.time.Instant;

/**
 * One kind of workflow step. The engine claims the step, evaluates its {@code when} and {@code
 * foreach}, hands the execution to the kind of the step, and commits the outcome the kind answers
 * (fenced by the claim's epoch): a kind holds no transaction, no lock and no engine type. A kind
 * answers its own failures as {@link Outcome.Failed}; what it throws is a retryable failure of the
 * attempt. Adding a kind is a bean implementing this interface.
 */
public interface StepKind {

    /** The kind this implementation runs. */
    WorkflowSpec.Kind kind();

    /** Runs one execution of a claimed step. */
    Outcome run(Execution execution);

    /**
     * What an execution sees: the claim, the spec and step, the templates' scope, whether the run
     * has a budget scope in the gateway, and the step's journal.
     */
    record Execution(
            Claim claim,
            WorkflowSpec spec,
            WorkflowSpec.Step step,
            Expressions.Scope scope,
            boolean budgetScope,
            Journal journal) {

        /** The step's time limit per call: its own, the defaults', else {@code fallback}. */
        public Duration timeout(Duration fallback) {
            String t =
                    step.timeout() != null
                            ? step.timeout()
                            : spec.defaults() != null ? spec.defaults().timeout() : null;
            return t == null ? fallback : Durations.parse(t);
        }
    }

    /** What an execution ended with. */
    sealed interface Outcome {

        /** The step's output, and what producing it spent. */
        record Succeeded(JsonNode output, long tokens, double cost) implements Outcome {}

        /** A failure of this attempt, classified, with what it spent before failing. */
        record Failed(FailureKind kind, String error, long tokens, double cost)
                implements Outcome {}

        /**
         * Not done yet: the step is handed back and claimed again at {@code until} (or the next
         * poll after it), by any executor. Nothing is held meanwhile.
         */
        record Waiting(Instant until) implements Outcome {}

        /**
         * Waiting for a person's decision: the step is handed back as awaiting approval until the
         * decision arrives, or until {@code timeout} (null: none), and then claimed again.
         */
        record AwaitingDecision(Instant timeout) implements Outcome {}
    }
}
