package io.flotilla.executor.step;

/** How a failed step execution ends. */
public enum FailureKind {
    /** Retried per the step's retry policy, then fails the run. */
    RETRYABLE,
    /** Fails the run at once (a client error, a bad expression, an invalid answer). */
    FATAL,
    /** The run's budget is exhausted: the run fails, saying so. */
    BUDGET
}
