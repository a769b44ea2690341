package io.flotilla.executor.step;

import com.fasterxml.jackson.annotation.JsonValue;
import java.util.Locale;

/**
 * A run's status, as {@code executor.runs.status} stores it and the API shows it: the enum's name
 * in lower case.
 */
public enum RunStatus {
    RUNNING,
    SUCCEEDED,
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

    public static RunStatus of(String db) {
        return valueOf(db.toUpperCase(Locale.ROOT));
    }
}
