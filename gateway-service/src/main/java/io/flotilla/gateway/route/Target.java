package io.flotilla.gateway.route;

import java.time.Duration;

/**
 * One resolved target of a route: which provider serves which model, with its limits. The API key
 * is resolved from the environment at load time and kept out of {@link #toString()}.
 */
public record Target(
        String provider,
        ProviderKind kind,
        String baseUrl,
        String apiKey,
        String model,
        int weight,
        Integer contextWindow,
        Routes.Prices prices,
        Duration timeout,
        Duration mockLatency) {

    /** The provider types the gateway speaks. */
    public enum ProviderKind {
        OPENAI,
        ANTHROPIC,
        GEMINI,
        MOCK
    }

    /** Stable name of the target, used for its circuit breaker and in headers and metrics. */
    public String id() {
        return provider + "/" + model;
    }

    /**
     * Whether prompt plus completion fit the target's context window (unknown windows always fit).
     */
    public boolean fits(int promptTokens, int maxTokens) {
        return contextWindow == null || promptTokens + maxTokens <= contextWindow;
    }

    @Override
    public String toString() {
        return "Target[" + id() + ", kind=" + kind + ", baseUrl=" + baseUrl + "]";
    }
}
