package io.flotilla.common.time;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The one way Flotilla reads a duration a person wrote (a workflow's timeouts, a route's timeout):
 * a whole number and a unit, {@code 500ms}, {@code 30s}, {@code 5m} or {@code 24h}.
 */
public final class Durations {

    private static final Pattern FORMAT = Pattern.compile("(\\d{1,18})(ms|s|m|h)");

    private Durations() {}

    /**
     * The duration {@code text} names; null for null or blank.
     *
     * @throws IllegalArgumentException saying how to write one, when it is not a duration
     */
    public static Duration parse(String text) {
        if (text == null || text.isBlank()) {
            return null;
        }
        Matcher m = FORMAT.matcher(text.trim());
        try {
            if (m.matches()) {
                long n = Long.parseLong(m.group(1));
                return switch (m.group(2)) {
                    case "ms" -> Duration.ofMillis(n);
                    case "s" -> Duration.ofSeconds(n);
                    case "m" -> Duration.ofMinutes(n);
                    default -> Duration.ofHours(n);
                };
            }
        } catch (ArithmeticException tooLong) {
            // falls through to the same message: no duration that long exists
        }
        throw new IllegalArgumentException(
                "'" + text + "' is not a duration; write it like 500ms, 30s, 5m or 24h");
    }
}
