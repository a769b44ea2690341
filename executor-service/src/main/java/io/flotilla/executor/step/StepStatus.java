package io.flotilla.executor.step;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/**
 * A step's (or a foreach item's) status, as {@code executor.steps.status} stores it and the API
 * shows it: the enum's name in lower case.
 */
public enum StepStatus {
    /** Not yet started: its needs are unmet, or a foreach item queued behind maxParallel. */
    WAITING,
    /** To be claimed, once its {@code not_before} (a retry's backoff, a timer) has passed. */
    READY,
    RUNNING,
    /**
     * Handed back until its {@code not_before} (a wait step's timer): out of the claim queue, held
     * by nobody; the executors' housekeeping makes it ready when due.
     */
    SLEEPING,
    /**
     * An approval step waiting for a decision (the runs API's approve/reject), or for its timeout
     * ({@code not_before}); held by nobody.
     */
    AWAITING_APPROVAL,
    /** Running when its run ended; it ends as cancelled when it returns. */
    CANCELLING,
    /** Fanned out to its foreach items. */
    FANOUT,
    SUCCEEDED,
    SKIPPED,
    FAILED,
    CANCELLED;

    @JsonValue
    public String db() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** As stored and shown, also in messages and logs. */
    @Override
    public String toString() {
        return db();
    }

    public static StepStatus of(String db) {
        return valueOf(db.toUpperCase(Locale.ROOT));
    }

    /** Finished so that steps needing it may start: succeeded or skipped. */
    public boolean done() {
        return this == SUCCEEDED || this == SKIPPED;
    }

    /** Started and not finished: claimable, running, or handed back (a foreach item in play). */
    public boolean active() {
        return this == READY || this == RUNNING || this == SLEEPING || this == AWAITING_APPROVAL;
    }

    /** Finished for good, one way or another. */
    public boolean ended() {
        return done() || this == FAILED || this == CANCELLED;
    }
}
