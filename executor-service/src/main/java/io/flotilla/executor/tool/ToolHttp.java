package io.flotilla.executor.tool;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.common.time.Durations;
import io.flotilla.common.workflow.Expressions;
import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.executor.ExecutorConfig;
import io.flotilla.executor.step.FailureKind;
import io.flotilla.executor.step.StepKind;
import io.flotilla.executor.workflow.JsonSchemas;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpClient;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.net.SocketAddress;
import jakarta.annotation.PreDestroy;
import jakarta.inject.Singleton;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;
import java.util.regex.Matcher;

/**
 * Calls a declared HTTP tool: checks the arguments against its input schema, renders its URL and
 * headers, adds its secrets and an {@code Idempotency-Key}, connects only where the {@link
 * EgressPolicy} allows (to the very address it checked), reads at most {@code maxResponseBytes},
 * follows a GET's redirects only after checking them the same way, and maps the answer with the
 * tool's {@code output}. A 4xx answer (but 408 and 429) fails without retry; 5xx, 408, 429,
 * timeouts and connection failures are retryable.
 */
@Singleton
public class ToolHttp {

    /** A failed tool call, classified for the engine. */
    public static final class ToolFailed extends RuntimeException {
        public final FailureKind kind;

        /**
         * Whether a model calling the tool may act on it: its arguments were refused before any
         * request, or the tool refused them (4xx). An agent gets it as the call's result.
         */
        public final boolean forModel;

        ToolFailed(FailureKind kind, String message) {
            this(kind, message, false);
        }

        ToolFailed(FailureKind kind, String message, boolean forModel) {
            super(message, null, false, false);
            this.kind = kind;
            this.forModel = forModel;
        }
    }

    /** One call: the tool, its arguments, the attempt's key, the run's namespace, the limit. */
    public record Call(
            WorkflowSpec.Tool tool,
            JsonNode arguments,
            String idempotencyKey,
            String namespace,
            Duration timeout) {}

    private record Answer(int status, String reason, Map<String, String> headers, Buffer body) {}

    private static final class TooLarge extends RuntimeException {
        TooLarge() {
            super(null, null, false, false);
        }
    }

    private final ExecutorConfig.Tools config;
    private final Duration stepTimeout;
    private final EgressPolicy policy;
    private final ToolSecrets secrets;
    private final JsonSchemas schemas;
    private final ObjectMapper json;
    private final HttpClient client;

    ToolHttp(
            ExecutorConfig config,
            EgressPolicy policy,
            ToolSecrets secrets,
            JsonSchemas schemas,
            ObjectMapper json,
            Vertx vertx) {
        this.config = config.tools();
        this.stepTimeout = config.stepTimeout();
        this.policy = policy;
        this.secrets = secrets;
        this.schemas = schemas;
        this.json = json;
        this.client =
                vertx.createHttpClient(
                        new HttpClientOptions()
                                .setMaxRedirects(0)
                                .setForceSni(true)
                                .setVerifyHost(true)
                                .setMaxPoolSize(64));
    }

    @PreDestroy
    void close() {
        client.close();
    }

    /** The tool a step or an agent names (the validator has checked it is declared). */
    public static WorkflowSpec.Tool declared(WorkflowSpec spec, String name) {
        return spec.tools().stream()
                .filter(t -> t.name().equals(name))
                .findFirst()
                .orElseThrow(() -> new IllegalStateException("undeclared tool " + name));
    }

    /** The time limit of a call of the tool: its own, else the step's. */
    public Duration timeout(WorkflowSpec.Tool tool, StepKind.Execution e) {
        return tool.http().timeout() != null
                ? Durations.parse(tool.http().timeout())
                : e.timeout(stepTimeout);
    }

    /** The tool's result: its answer mapped by {@code output}. */
    public JsonNode call(Call call) {
        WorkflowSpec.Tool tool = call.tool();
        String name = "tool '" + tool.name() + "'";
        JsonNode args =
                call.arguments() == null ? JsonNodeFactory.instance.objectNode() : call.arguments();
        if (tool.input() != null) {
            List<String> problems = schemas.problems(tool.input(), args);
            if (!problems.isEmpty()) {
                throw new ToolFailed(
                        FailureKind.FATAL,
                        "the arguments of "
                                + name
                                + " do not match its input schema: "
                                + String.join("; ", problems),
                        true);
            }
        }
        WorkflowSpec.Http http = tool.http();
        String method = http.method() == null ? "GET" : http.method();
        Map<String, String> headers = new LinkedHashMap<>();
        for (Map.Entry<String, String> h : http.headers().entrySet()) {
            headers.put(
                    h.getKey(), headerValue(name, h.getKey(), render(h.getValue(), args, false)));
        }
        Map<String, String> secretHeaders = new LinkedHashMap<>();
        for (WorkflowSpec.SecretHeader s : tool.secrets()) {
            secretHeaders.put(
                    s.header(), headerValue(name, s.header(), secrets.value(s, call.namespace())));
        }
        Buffer body =
                method.equals("POST") || method.equals("PUT") || method.equals("PATCH")
                        ? Buffer.buffer(args.toString())
                        : null;
        int cap =
                http.maxResponseBytes() == null
                        ? config.maxResponseBytes()
                        : Math.min(http.maxResponseBytes(), config.maxResponseBytes());
        URI uri = uri(name, render(http.url(), args, true));
        String ownHost = uri.getHost();
        long deadline = System.nanoTime() + call.timeout().toNanos();
        for (int redirects = 0; ; redirects++) {
            InetAddress address;
            try {
                address =
                        policy.resolve(
                                uri.getHost(),
                                uri.getHost().equalsIgnoreCase(ownHost),
                                http.allowedHosts());
            } catch (EgressPolicy.Refused e) {
                throw new ToolFailed(
                        FailureKind.FATAL, name + " may not reach " + uri + ": " + e.getMessage());
            }
            Map<String, String> sent = new LinkedHashMap<>(headers);
            if (uri.getHost().equalsIgnoreCase(ownHost)) {
                sent.putAll(secretHeaders); // secrets go to the tool's own host only
            }
            sent.put("Idempotency-Key", call.idempotencyKey());
            Answer answer = send(name, method, uri, address, sent, body, cap, deadline);
            String location = answer.headers().get("location");
            if (answer.status() >= 300 && answer.status() < 400 && location != null) {
                if (!method.equals("GET") || redirects >= config.maxRedirects()) {
                    throw new ToolFailed(
                            FailureKind.FATAL,
                            name
                                    + " answered "
                                    + answer.status()
                                    + " (a redirect); "
                                    + (method.equals("GET")
                                            ? "more than "
                                                    + config.maxRedirects()
                                                    + " redirects are not followed"
                                            : "redirects of a " + method + " are not followed"));
                }
                uri = uri(name, uri.resolve(location).toString());
                continue;
            }
            return result(name, tool, answer);
        }
    }

    private JsonNode result(String name, WorkflowSpec.Tool tool, Answer answer) {
        int status = answer.status();
        if (status >= 400) {
            String excerpt = answer.body().toString(StandardCharsets.UTF_8);
            excerpt = excerpt.length() > 200 ? excerpt.substring(0, 200) + "..." : excerpt;
            boolean retryable = status >= 500 || status == 408 || status == 429;
            throw new ToolFailed(
                    retryable ? FailureKind.RETRYABLE : FailureKind.FATAL,
                    name
                            + " answered "
                            + status
                            + (answer.reason() == null ? "" : " " + answer.reason())
                            + (excerpt.isBlank() ? "" : ": " + excerpt.strip()),
                    !retryable);
        }
        JsonNode body;
        String text = answer.body().toString(StandardCharsets.UTF_8);
        String type = answer.headers().getOrDefault("content-type", "");
        if (type.contains("json")) {
            try {
                body = text.isEmpty() ? JsonNodeFactory.instance.nullNode() : json.readTree(text);
            } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
                throw new ToolFailed(
                        FailureKind.FATAL,
                        name
                                + " answered "
                                + type
                                + " that is not JSON: "
                                + e.getOriginalMessage());
            }
        } else {
            body = JsonNodeFactory.instance.textNode(text);
        }
        if (tool.output() == null) {
            return body;
        }
        ObjectNode response = JsonNodeFactory.instance.objectNode().put("status", status);
        ObjectNode headers = response.putObject("headers");
        answer.headers().forEach(headers::put);
        response.set("body", body);
        try {
            return Expressions.evaluate(tool.output(), "response", response);
        } catch (Expressions.EvaluationException e) {
            throw new ToolFailed(
                    FailureKind.FATAL, "tools." + tool.name() + ".output: " + e.getMessage());
        }
    }

    private Answer send(
            String name,
            String method,
            URI uri,
            InetAddress address,
            Map<String, String> headers,
            Buffer body,
            int cap,
            long deadline) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
            throw new ToolFailed(FailureKind.RETRYABLE, name + " timed out");
        }
        boolean https = uri.getScheme().equals("https");
        int port = uri.getPort() > 0 ? uri.getPort() : https ? 443 : 80;
        String path =
                uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
        RequestOptions options =
                new RequestOptions()
                        .setMethod(HttpMethod.valueOf(method))
                        .setHost(uri.getHost())
                        .setPort(port)
                        .setSsl(https)
                        .setURI(uri.getRawQuery() == null ? path : path + "?" + uri.getRawQuery())
                        .setServer(SocketAddress.inetSocketAddress(port, address.getHostAddress()))
                        .setFollowRedirects(false)
                        .setConnectTimeout(left)
                        .setIdleTimeout(left);
        CompletableFuture<Answer> done = new CompletableFuture<>();
        AtomicReference<HttpClientRequest> sent = new AtomicReference<>();
        client.request(options)
                .onFailure(done::completeExceptionally)
                .onSuccess(
                        request -> {
                            sent.set(request);
                            headers.forEach(request::putHeader);
                            if (body != null) {
                                request.putHeader("Content-Type", "application/json");
                            }
                            request.response()
                                    .onFailure(done::completeExceptionally)
                                    .onSuccess(
                                            response -> {
                                                response.exceptionHandler(
                                                        done::completeExceptionally);
                                                String length =
                                                        response.getHeader("Content-Length");
                                                if (length != null
                                                        && length.matches("[0-9]{1,18}")
                                                        && Long.parseLong(length) > cap) {
                                                    done.completeExceptionally(new TooLarge());
                                                    request.reset();
                                                    return;
                                                }
                                                Buffer read = Buffer.buffer();
                                                response.handler(
                                                        chunk -> {
                                                            if (read.length() + chunk.length()
                                                                    > cap) {
                                                                done.completeExceptionally(
                                                                        new TooLarge());
                                                                request.reset();
                                                            } else {
                                                                read.appendBuffer(chunk);
                                                            }
                                                        });
                                                response.endHandler(
                                                        v -> {
                                                            Map<String, String> h =
                                                                    new LinkedHashMap<>();
                                                            response.headers()
                                                                    .forEach(
                                                                            e ->
                                                                                    h.putIfAbsent(
                                                                                            e.getKey()
                                                                                                    .toLowerCase(
                                                                                                            Locale
                                                                                                                    .ROOT),
                                                                                            e
                                                                                                    .getValue()));
                                                            done.complete(
                                                                    new Answer(
                                                                            response.statusCode(),
                                                                            response
                                                                                    .statusMessage(),
                                                                            h,
                                                                            read));
                                                        });
                                            });
                            if (body == null) {
                                request.end();
                            } else {
                                request.end(body);
                            }
                        });
        try {
            return done.get(left, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            if (sent.get() != null) {
                sent.get().reset();
            }
            throw new ToolFailed(
                    FailureKind.RETRYABLE,
                    name + " timed out after " + Duration.ofMillis(left).toMillis() + " ms");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof TooLarge) {
                throw new ToolFailed(
                        FailureKind.FATAL,
                        name + " answered more than " + cap + " bytes (http.maxResponseBytes)");
            }
            String why = e.getCause() == null ? "" : e.getCause().getMessage();
            throw new ToolFailed(
                    FailureKind.RETRYABLE,
                    name
                            + " could not be reached at "
                            + uri.getScheme()
                            + "://"
                            + uri.getHost()
                            + ":"
                            + port
                            + (why == null ? "" : ": " + why));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            if (sent.get() != null) {
                sent.get().reset();
            }
            throw new ToolFailed(FailureKind.RETRYABLE, name + " was interrupted");
        }
    }

    private static URI uri(String name, String text) {
        try {
            URI uri = new URI(text);
            if (uri.getHost() == null
                    || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
                throw new URISyntaxException(text, "not an absolute http(s) URL");
            }
            return uri;
        } catch (URISyntaxException e) {
            throw new ToolFailed(FailureKind.FATAL, name + ": " + e.getMessage());
        }
    }

    private static String headerValue(String name, String header, String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c == '\r' || c == '\n' || c == 0) {
                throw new ToolFailed(
                        FailureKind.FATAL,
                        name + ": the header " + header + " would hold a line break or NUL");
            }
        }
        return value;
    }

    /**
     * A tool template with each placeholder replaced by the argument it names: strings as they are,
     * other values as JSON; percent-encoded in a URL (a value can never change the host or add path
     * segments).
     */
    static String render(String template, JsonNode args, boolean url) {
        Matcher m = Expressions.TEMPLATE.matcher(template);
        StringBuilder out = new StringBuilder();
        while (m.find()) {
            JsonNode value = args;
            for (String part : m.group(1).split("\\.")) {
                value = value == null ? null : value.get(part);
            }
            if (value == null || value.isNull()) {
                throw new ToolFailed(
                        FailureKind.FATAL,
                        "the template '{{" + m.group(1) + "}}' names no given argument",
                        true);
            }
            String text = value.isTextual() ? value.textValue() : value.toString();
            if (url) {
                text = URLEncoder.encode(text, StandardCharsets.UTF_8).replace("+", "%20");
            }
            m.appendReplacement(out, Matcher.quoteReplacement(text));
        }
        m.appendTail(out);
        return out.toString();
    }
}
