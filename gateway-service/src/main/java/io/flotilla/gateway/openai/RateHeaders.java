package io.flotilla.gateway.openai;

import io.vertx.core.http.HttpServerResponse;

/** The {@code x-ratelimit-*} values of a response, as OpenAI names them. */
public record RateHeaders(
        Integer limitRequests,
        Integer remainingRequests,
        Integer limitTokens,
        Integer remainingTokens,
        int resetSeconds) {

    /** Puts the headers on {@code response}; nothing when {@code rate} is null. */
    public static void write(HttpServerResponse response, RateHeaders rate) {
        if (rate == null) {
            return;
        }
        if (rate.limitRequests() != null) {
            response.putHeader("x-ratelimit-limit-requests", String.valueOf(rate.limitRequests()));
            response.putHeader(
                    "x-ratelimit-remaining-requests",
                    String.valueOf(
                            rate.remainingRequests() == null ? 0 : rate.remainingRequests()));
            response.putHeader("x-ratelimit-reset-requests", rate.resetSeconds() + "s");
        }
        if (rate.limitTokens() != null) {
            response.putHeader("x-ratelimit-limit-tokens", String.valueOf(rate.limitTokens()));
            response.putHeader(
                    "x-ratelimit-remaining-tokens",
                    String.valueOf(rate.remainingTokens() == null ? 0 : rate.remainingTokens()));
            response.putHeader("x-ratelimit-reset-tokens", rate.resetSeconds() + "s");
        }
    }
}
