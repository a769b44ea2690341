package io.flotilla.gateway.route;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import java.util.List;
import java.util.Map;

/** The shapes of the routes file and of routes stored through the admin API. */
public final class Routes {

    private Routes() {}

    /** The whole routes file. */
    @JsonIgnoreProperties(ignoreUnknown = false)
    public record File(Map<String, ProviderSpec> providers, Map<String, RouteSpec> routes) {}

    /**
     * An upstream: {@code type} is openai (and any OpenAI-compatible server), anthropic, gemini or
     * mock. The API key is read from the environment variable {@code apiKeyEnv}, never from the
     * file.
     */
    public record ProviderSpec(String type, String baseUrl, String apiKeyEnv, String latency) {}

    /** A model alias: ordered targets, or an auto rule that picks between two other aliases. */
    public record RouteSpec(List<TargetSpec> targets, AutoSpec auto) {}

    /**
     * One target. {@code weight}: see docs/gateway.md (0 = fallback only; the first target defaults
     * to 1). {@code contextWindow} in tokens; {@code timeout} like "30s" or "500ms".
     */
    public record TargetSpec(
            String provider,
            String model,
            Integer weight,
            Integer contextWindow,
            Prices prices,
            String timeout) {}

    /** USD per million tokens. */
    public record Prices(double input, double output, Double cachedInput) {}

    /**
     * The auto rule: a prompt goes to {@code cheap} when it is at most {@code maxPromptTokens}
     * tokens, asks for no tools or structured output, and contains none of {@code strongKeywords};
     * otherwise to {@code strong}.
     */
    public record AutoSpec(
            String cheap, String strong, Integer maxPromptTokens, List<String> strongKeywords) {}
}
