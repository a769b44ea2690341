package io.flotilla.gateway.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.gateway.openai.Sse;
import io.flotilla.gateway.provider.UpstreamFailure.Kind;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.tracing.TracingPolicy;
import io.vertx.mutiny.core.Vertx;
import io.vertx.mutiny.core.buffer.Buffer;
import io.vertx.mutiny.core.http.HttpClient;
import io.vertx.mutiny.core.http.HttpClientResponse;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeoutException;

/**
 * The one HTTP client to providers: pooled keep-alive connections on the event loop, JSON in and
 * out, and every failure classified into an {@link UpstreamFailure}.
 */
@Singleton
public class Upstream {

    private final ObjectMapper json;
    private final HttpClient client;

    Upstream(Vertx vertx, ObjectMapper json) {
        this.json = json;
        this.client =
                vertx.createHttpClient(
                        new HttpClientOptions()
                                .setKeepAlive(true)
                                .setMaxPoolSize(256)
                                .setConnectTimeout(5_000)
                                .setTryUseCompression(false)
                                // each attempt already has its GenAI client span (GenAiSpans):
                                // a second, generic HTTP span per call only costs
                                .setTracingPolicy(TracingPolicy.IGNORE));
    }

    /** POSTs JSON and returns the parsed 200 answer. */
    public Uni<JsonNode> post(
            String url, Map<String, String> headers, ObjectNode body, Duration timeout) {
        return send(url, headers, body, timeout)
                .chain(response -> response.body().map(b -> parse(b, url)))
                .ifNoItem()
                .after(timeout)
                .failWith(() -> new UpstreamFailure(Kind.TIMEOUT, "no answer within " + timeout))
                .onFailure(f -> !(f instanceof UpstreamFailure))
                .transform(Upstream::classify);
    }

    /** POSTs JSON and, once the upstream answers 200, streams its server-sent events. */
    public Uni<Multi<Sse.Event>> stream(
            String url, Map<String, String> headers, ObjectNode body, Duration timeout) {
        return send(url, headers, body, timeout)
                .map(
                        response ->
                                Sse.parse(response.pause().toMulti())
                                        // comments (keep-alives) are not events: an upstream
                                        // that sends only those for `timeout` is cut off
                                        .ifNoItem()
                                        .after(timeout)
                                        .failWith(
                                                () ->
                                                        new UpstreamFailure(
                                                                Kind.TIMEOUT,
                                                                "no event from the upstream for "
                                                                        + timeout.toMillis()
                                                                        + " ms"))
                                        .onFailure(f -> !(f instanceof UpstreamFailure))
                                        .transform(Upstream::classify))
                .onFailure(f -> !(f instanceof UpstreamFailure))
                .transform(Upstream::classify);
    }

    private Uni<HttpClientResponse> send(
            String url, Map<String, String> headers, ObjectNode body, Duration timeout) {
        RequestOptions options =
                new RequestOptions()
                        .setMethod(HttpMethod.POST)
                        .setAbsoluteURI(url)
                        .setIdleTimeout(timeout.toMillis());
        return client.request(options)
                .chain(
                        request -> {
                            request.putHeader("Content-Type", "application/json");
                            headers.forEach(request::putHeader);
                            return request.send(Buffer.buffer(body.toString()));
                        })
                .chain(
                        response -> {
                            if (response.statusCode() == 200) {
                                return Uni.createFrom().item(response);
                            }
                            return response.body()
                                    .map(
                                            b -> {
                                                throw failure(
                                                        response.statusCode(),
                                                        b.toString(),
                                                        response.getHeader("retry-after-ms"),
                                                        response.getHeader("retry-after"));
                                            });
                        });
    }

    /** The service's one configured mapper, for the providers' translations. */
    public ObjectMapper json() {
        return json;
    }

    private JsonNode parse(Buffer body, String url) {
        try {
            return json.readTree(body.getBytes());
        } catch (IOException e) {
            throw new UpstreamFailure(
                    Kind.SERVER_ERROR,
                    200,
                    null,
                    "the upstream answered 200 with a body that is not JSON");
        }
    }

    /** Classifies an HTTP error answer of any provider. */
    UpstreamFailure failure(int status, String body, String retryAfterMs, String retryAfter) {
        String message = upstreamMessage(body);
        if (status == 429) {
            return new UpstreamFailure(
                    Kind.RATE_LIMITED,
                    status,
                    retryAfter(retryAfterMs, retryAfter),
                    "rate limited: " + message);
        }
        if (status == 408) {
            return new UpstreamFailure(Kind.TIMEOUT, status, null, message);
        }
        if (status >= 500) {
            return new UpstreamFailure(
                    Kind.SERVER_ERROR, status, retryAfter(retryAfterMs, retryAfter), message);
        }
        String lower = body == null ? "" : body.toLowerCase(Locale.ROOT);
        if (lower.contains("context_length_exceeded")
                || lower.contains("maximum context length")
                || lower.contains("prompt is too long")
                || lower.contains("exceeds the maximum number of tokens")
                || lower.contains("too many tokens")) {
            return new UpstreamFailure(Kind.CONTEXT_LENGTH, status, null, message);
        }
        return new UpstreamFailure(Kind.REJECTED, status, null, message);
    }

    /**
     * The error message of an OpenAI, Anthropic or Gemini error body; the status line otherwise.
     */
    private String upstreamMessage(String body) {
        try {
            JsonNode error = json.readTree(body).path("error");
            if (error.path("message").isTextual()) {
                return error.path("message").asText();
            }
        } catch (IOException | RuntimeException e) {
            // not JSON: fall through
        }
        return body == null || body.isBlank()
                ? "no error body"
                : "non-JSON error body of " + body.length() + " bytes";
    }

    static Duration retryAfter(String millis, String value) {
        try {
            if (millis != null) {
                return Duration.ofMillis((long) Double.parseDouble(millis.trim()));
            }
            if (value != null) {
                String v = value.trim();
                if (v.chars().allMatch(c -> Character.isDigit(c) || c == '.')) {
                    return Duration.ofMillis((long) (Double.parseDouble(v) * 1000));
                }
                Duration until =
                        Duration.between(
                                ZonedDateTime.now(),
                                ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME));
                return until.isNegative() ? Duration.ZERO : until;
            }
        } catch (RuntimeException e) {
            // an unreadable Retry-After counts as absent
        }
        return null;
    }

    static Throwable classify(Throwable t) {
        if (t instanceof UpstreamFailure) {
            return t;
        }
        String message = String.valueOf(t.getMessage());
        if (t instanceof TimeoutException || message.toLowerCase(Locale.ROOT).contains("timeout")) {
            return new UpstreamFailure(Kind.TIMEOUT, "timed out: " + message);
        }
        return new UpstreamFailure(
                Kind.CONNECTION,
                "connection failed: " + t.getClass().getSimpleName() + ": " + message);
    }
}
