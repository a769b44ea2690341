package io.flotilla.gateway.provider;

import java.time.Duration;

/**
 * Why a call to a target failed, classified once so routing can decide: retry the same target, fall
 * back to the next, or hand the error to the caller. Details never carry prompt text.
 */
public final class UpstreamFailure extends RuntimeException {

    /** The closed set of upstream outcomes routing distinguishes. */
    public enum Kind {
        /** 429: retry after the upstream's Retry-After, then fall back. */
        RATE_LIMITED,
        /** 5xx: retry with backoff, then fall back. */
        SERVER_ERROR,
        /** No answer in time: retry, then fall back. */
        TIMEOUT,
        /** Connection refused or reset, or a stream cut short: retry, then fall back. */
        CONNECTION,
        /** The prompt does not fit the target's context: fall back at once. */
        CONTEXT_LENGTH,
        /** Any other 4xx: the request itself is wrong; the caller gets the upstream's answer. */
        REJECTED
    }

    private final Kind kind;
    private final int status;
    private final transient Duration retryAfter;

    public UpstreamFailure(Kind kind, int status, Duration retryAfter, String detail) {
        super(detail, null, false, false);
        this.kind = kind;
        this.status = status;
        this.retryAfter = retryAfter;
    }

    public UpstreamFailure(Kind kind, String detail) {
        this(kind, 0, null, detail);
    }

    public Kind kind() {
        return kind;
    }

    /** The upstream's HTTP status, 0 when there was none. */
    public int status() {
        return status;
    }

    /** The upstream's Retry-After, or null. */
    public Duration retryAfter() {
        return retryAfter;
    }

    /** Worth calling the same target again after a pause. */
    public boolean retryable() {
        return kind == Kind.RATE_LIMITED
                || kind == Kind.SERVER_ERROR
                || kind == Kind.TIMEOUT
                || kind == Kind.CONNECTION;
    }

    /** Worth trying the next target. */
    public boolean fallsBack() {
        return kind != Kind.REJECTED;
    }

    /** Short label for headers, metrics and logs. */
    public String label() {
        return status > 0
                ? kind.name().toLowerCase() + "(" + status + ")"
                : kind.name().toLowerCase();
    }
}
