package io.flotilla.gateway.openai;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Duration;

/**
 * An error answered on /v1 in OpenAI's envelope {@code
 * {"error":{"message","type","code","param"}}}, with the HTTP status OpenAI uses for it, so SDKs
 * raise their typed errors.
 */
public final class OpenAiError extends RuntimeException {

    private final int status;
    private final String type;
    private final String code;
    private final String param;
    private final transient Duration retryAfter;
    private transient RateHeaders rate;

    public OpenAiError(
            int status,
            String type,
            String code,
            String param,
            String message,
            Duration retryAfter) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.code = code;
        this.param = param;
        this.retryAfter = retryAfter;
    }

    public static OpenAiError invalid(String param, String message) {
        return new OpenAiError(
                400, "invalid_request_error", "invalid_request", param, message, null);
    }

    /** Attaches x-ratelimit-* values to a 429. */
    public OpenAiError with(RateHeaders headers) {
        this.rate = headers;
        return this;
    }

    /** The x-ratelimit-* values, or null. */
    public RateHeaders rate() {
        return rate;
    }

    public int status() {
        return status;
    }

    /** Seconds to wait before retrying, for the Retry-After header; null when none applies. */
    public Duration retryAfter() {
        return retryAfter;
    }

    public ObjectNode body() {
        ObjectNode error = JsonNodeFactory.instance.objectNode();
        ObjectNode e = error.putObject("error").put("message", getMessage()).put("type", type);
        if (code == null) {
            e.putNull("code");
        } else {
            e.put("code", code);
        }
        if (param == null) {
            e.putNull("param");
        } else {
            e.put("param", param);
        }
        return error;
    }
}
