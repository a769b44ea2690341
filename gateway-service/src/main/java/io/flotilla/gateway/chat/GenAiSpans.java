package io.flotilla.gateway.chat;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.gateway.provider.UpstreamFailure;
import io.flotilla.gateway.route.Target;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import jakarta.inject.Singleton;

/**
 * Spans with the OpenTelemetry GenAI semantic conventions: one per gateway request (operation and
 * alias) and one per upstream attempt (provider system and target model). Attributes carry models,
 * token counts and outcomes, never prompt or completion text, never keys.
 */
@Singleton
public class GenAiSpans {

    private final Tracer tracer;
    private final java.util.Map<String, String> hosts =
            new java.util.concurrent.ConcurrentHashMap<>(); // base URL -> host, parsed once

    GenAiSpans(Tracer tracer) {
        this.tracer = tracer;
    }

    /**
     * The span of one /v1 request: the HTTP server span itself ({@code POST /v1/chat/completions},
     * as HTTP conventions name it), given the GenAI attributes — a span of its own beside it would
     * double the spans of every request. It ends with the response. Without HTTP tracing there is
     * none, and attempts are root spans.
     */
    public Span request(String operation, JsonNode request) {
        Span span = Span.current();
        String model = request.path("model").asText("unknown");
        span.setAttribute("gen_ai.operation.name", operation);
        span.setAttribute("gen_ai.request.model", model);
        if (request.has("max_tokens")) {
            span.setAttribute("gen_ai.request.max_tokens", request.path("max_tokens").asLong());
        }
        if (request.has("temperature")) {
            span.setAttribute("gen_ai.request.temperature", request.path("temperature").asDouble());
        }
        return span;
    }

    /** The span of one call to one target, child of the request span. */
    public Span attempt(Span request, String operation, Target target) {
        Span span =
                tracer.spanBuilder(operation + " " + target.model())
                        .setParent(Context.current().with(request))
                        .setSpanKind(SpanKind.CLIENT)
                        .startSpan();
        span.setAttribute("gen_ai.operation.name", operation);
        span.setAttribute("gen_ai.system", system(target.kind()));
        span.setAttribute("gen_ai.request.model", target.model());
        span.setAttribute("flotilla.target", target.id());
        if (target.baseUrl() != null && span.isRecording()) {
            span.setAttribute(
                    "server.address",
                    hosts.computeIfAbsent(target.baseUrl(), u -> java.net.URI.create(u).getHost()));
        }
        return span;
    }

    /** Ends an attempt span with its outcome. */
    public static void endAttempt(Span span, Throwable failure) {
        if (failure != null) {
            span.setAttribute(
                    "error.type",
                    failure instanceof UpstreamFailure f
                            ? f.label()
                            : failure.getClass().getSimpleName());
            span.setStatus(StatusCode.ERROR);
        }
        span.end();
    }

    /** Records the response model and usage on a span. */
    public static void usage(Span span, String responseModel, JsonNode usage) {
        span.setAttribute("gen_ai.response.model", responseModel);
        if (usage != null && usage.isObject()) {
            span.setAttribute("gen_ai.usage.input_tokens", usage.path("prompt_tokens").asLong());
            span.setAttribute(
                    "gen_ai.usage.output_tokens", usage.path("completion_tokens").asLong());
        }
    }

    static String system(Target.ProviderKind kind) {
        return switch (kind) {
            case OPENAI -> "openai";
            case ANTHROPIC -> "anthropic";
            case GEMINI -> "gcp.gemini";
            case MOCK -> "flotilla.mock";
        };
    }
}
