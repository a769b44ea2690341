package io.flotilla.gateway.governance;

import java.util.UUID;

/**
 * What a reservation granted: the completion tokens the request may use (lowered when a budget or
 * token rate could not pay the full max_tokens) and the rate-limit state for the response headers.
 * A grant has its own reservation row ({@code id}) or was admitted within a {@code slice}.
 */
public record Grant(
        UUID id,
        int promptTokens,
        int completionTokens,
        boolean clamped,
        boolean metered,
        Integer limitRequests,
        Integer remainingRequests,
        Integer limitTokens,
        Integer remainingTokens,
        Slice slice) {

    /** A grant with nothing reserved (governance off, or failing open without the store). */
    public static Grant unmetered(int prompt, int completion) {
        return new Grant(null, prompt, completion, false, false, null, null, null, null, null);
    }
}
