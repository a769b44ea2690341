package io.flotilla.gateway.chat;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.gateway.provider.UpstreamFailure;
import io.flotilla.gateway.route.Target;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.impl.HttpServerRequestInternal;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.net.URI;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.eclipse.microprofile.config.inject.ConfigProperty;

/**
 * The gateway's spans: one SERVER span per HTTP request, which on {@code /v1} carries the
 * OpenTelemetry GenAI attributes (operation, alias, and the provider system, target and usage of
 * the call that answered), and one CLIENT span for each upstream call that failed (a retry or a
 * fallback followed, or the request failed with it). A request answered at the first try is one
 * span. Attributes carry models, token counts and outcomes, never prompt or completion text, never
 * keys.
 *
 * <p>The server span is this class's, not Quarkus' Vert.x HTTP instrumentation's (switched off in
 * application.properties), whose span start and end and dozen-odd HTTP attributes were most of what
 * tracing cost the gateway at load (docs/gateway.md "Observability"). This one continues the
 * caller's W3C {@code traceparent}, carries the method, route, path and status, and ends with the
 * response (or the connection's close). Management paths ({@code /q/*}) get none, as before.
 */
@Singleton
public class GenAiSpans {

    private static final String SPAN = "flotilla.server-span";
    private static final AttributeKey<String> METHOD =
            AttributeKey.stringKey("http.request.method");
    private static final AttributeKey<String> PATH = AttributeKey.stringKey("url.path");
    private static final AttributeKey<String> SCHEME = AttributeKey.stringKey("url.scheme");
    private static final AttributeKey<String> ROUTE = AttributeKey.stringKey("http.route");
    private static final AttributeKey<Long> STATUS =
            AttributeKey.longKey("http.response.status_code");
    private static final AttributeKey<String> ERROR = AttributeKey.stringKey("error.type");
    // GenAI and Flotilla attributes: keys made once (the exporter encodes each key's name once)
    private static final AttributeKey<String> OPERATION =
            AttributeKey.stringKey("gen_ai.operation.name");
    private static final AttributeKey<String> SYSTEM = AttributeKey.stringKey("gen_ai.system");
    private static final AttributeKey<String> REQUEST_MODEL =
            AttributeKey.stringKey("gen_ai.request.model");
    private static final AttributeKey<Long> MAX_TOKENS =
            AttributeKey.longKey("gen_ai.request.max_tokens");
    private static final AttributeKey<Double> TEMPERATURE =
            AttributeKey.doubleKey("gen_ai.request.temperature");
    private static final AttributeKey<String> RESPONSE_MODEL =
            AttributeKey.stringKey("gen_ai.response.model");
    private static final AttributeKey<Long> INPUT_TOKENS =
            AttributeKey.longKey("gen_ai.usage.input_tokens");
    private static final AttributeKey<Long> OUTPUT_TOKENS =
            AttributeKey.longKey("gen_ai.usage.output_tokens");
    private static final AttributeKey<String> SERVER_ADDRESS =
            AttributeKey.stringKey("server.address");
    private static final AttributeKey<String> TARGET = AttributeKey.stringKey("flotilla.target");
    static final AttributeKey<String> TENANT = AttributeKey.stringKey("flotilla.tenant");
    static final AttributeKey<Boolean> REPLAYED =
            AttributeKey.booleanKey("flotilla.idempotent_replay");
    private static final TextMapGetter<HttpServerRequest> HEADERS =
            new TextMapGetter<>() {
                @Override
                public Iterable<String> keys(HttpServerRequest request) {
                    return request.headers().names();
                }

                @Override
                public String get(HttpServerRequest request, String name) {
                    return request == null ? null : request.getHeader(name);
                }
            };

    private final Tracer tracer;
    private final TextMapPropagator propagator;
    private final boolean enabled;
    private final Map<String, String> hosts =
            new ConcurrentHashMap<>(); // base URL -> host, parsed once

    GenAiSpans(
            Tracer tracer,
            OpenTelemetry otel,
            @ConfigProperty(name = "quarkus.otel.sdk.disabled") boolean disabled) {
        this.tracer = tracer;
        this.propagator = otel.getPropagators().getTextMapPropagator();
        this.enabled = !disabled;
    }

    void init(@Observes Router router) {
        if (enabled) { // untraced, a request pays nothing here
            router.route().order(Integer.MIN_VALUE).handler(this::serve);
        }
    }

    private void serve(RoutingContext ctx) {
        HttpServerRequest request = ctx.request();
        String path = request.path();
        if (path == null || path.startsWith("/q/")) {
            ctx.next();
            return;
        }
        String method = request.method().name();
        Span span =
                tracer.spanBuilder(method)
                        .setParent(propagator.extract(Context.root(), request, HEADERS))
                        .setSpanKind(SpanKind.SERVER)
                        .setAttribute(METHOD, method)
                        .setAttribute(PATH, path)
                        .setAttribute(SCHEME, request.scheme())
                        .startSpan();
        ctx.put(SPAN, span);
        ctx.addEndHandler(done -> end(ctx, span, method));
        ctx.next();
    }

    private static void end(RoutingContext ctx, Span span, String method) {
        // the template JAX-RS matched (Quarkus REST leaves it in the request's Vert.x context for
        // observability), else the Vert.x route's own path
        String route =
                ((HttpServerRequestInternal) ctx.request()).context().getLocal("UrlPathTemplate");
        if (route == null && ctx.currentRoute() != null) {
            route = ctx.currentRoute().getPath();
        }
        if (route != null) {
            span.updateName(method + " " + route);
            span.setAttribute(ROUTE, route);
        }
        int status = ctx.response().getStatusCode();
        span.setAttribute(STATUS, (long) status);
        if (!ctx.response().ended()) { // the connection closed before the answer ended
            failed(span, "connection_closed");
        } else if (status >= 500) {
            span.setStatus(StatusCode.ERROR);
        }
        span.end();
    }

    /**
     * The span of one /v1 request: its server span ({@code POST /v1/chat/completions}, as HTTP
     * conventions name it), given the GenAI attributes. It ends with the response. Untraced, an
     * invalid span that records nothing.
     */
    public Span request(RoutingContext ctx, String operation, JsonNode request) {
        Span span = ctx.get(SPAN);
        if (span == null) {
            return Span.getInvalid();
        }
        String model = request.path("model").asText("unknown");
        span.setAttribute(OPERATION, operation);
        span.setAttribute(REQUEST_MODEL, model);
        if (request.has("max_tokens")) {
            span.setAttribute(MAX_TOKENS, request.path("max_tokens").asLong());
        }
        if (request.has("temperature")) {
            span.setAttribute(TEMPERATURE, request.path("temperature").asDouble());
        }
        return span;
    }

    /**
     * Records one call to one target, after it ended. The call that answered is described on the
     * request span itself (provider system, target, server address), so a request answered at the
     * first try costs one span; each call that failed becomes a CLIENT span of its own under the
     * request span, from its start to its end, with the kind of failure. Untraced, nothing.
     */
    public void attempted(
            Span request, String operation, Target target, long elapsedNanos, Throwable failure) {
        if (!request.isRecording()) {
            return;
        }
        if (failure == null) {
            describe(request, target);
            return;
        }
        Instant now = Instant.now();
        long end = TimeUnit.SECONDS.toNanos(now.getEpochSecond()) + now.getNano();
        Span span =
                tracer.spanBuilder(operation + " " + target.model())
                        .setParent(Context.root().with(request))
                        .setSpanKind(SpanKind.CLIENT)
                        .setStartTimestamp(end - elapsedNanos, TimeUnit.NANOSECONDS)
                        .setAttribute(OPERATION, operation)
                        .setAttribute(REQUEST_MODEL, target.model())
                        .startSpan();
        describe(span, target);
        failed(
                span,
                failure instanceof UpstreamFailure f
                        ? f.label()
                        : failure.getClass().getSimpleName());
        span.end(end, TimeUnit.NANOSECONDS);
    }

    private void describe(Span span, Target target) {
        span.setAttribute(SYSTEM, system(target.kind()));
        span.setAttribute(TARGET, target.id());
        if (target.baseUrl() != null) {
            span.setAttribute(
                    SERVER_ADDRESS,
                    hosts.computeIfAbsent(target.baseUrl(), u -> URI.create(u).getHost()));
        }
    }

    /** Marks a span failed, with the kind of failure ({@code error.type}). */
    static void failed(Span span, String errorType) {
        span.setAttribute(ERROR, errorType);
        span.setStatus(StatusCode.ERROR);
    }

    /** Records the response model and token usage on a request's span. */
    static void usage(Span span, String responseModel, long in, long out) {
        span.setAttribute(RESPONSE_MODEL, responseModel);
        span.setAttribute(INPUT_TOKENS, in);
        span.setAttribute(OUTPUT_TOKENS, out);
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
