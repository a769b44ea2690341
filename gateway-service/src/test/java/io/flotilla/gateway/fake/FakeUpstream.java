package io.flotilla.gateway.fake;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A fake of three providers' real wire formats (OpenAI chat completions and embeddings, Anthropic
 * Messages, Gemini generateContent / streamGenerateContent), JSON and SSE, on one local port.
 * Faults are injected per model: {@link #script} queues the behaviours of that model's next calls
 * (default: a good answer). Every call is recorded for assertions.
 */
public final class FakeUpstream {

    /** What the next call to a model does. */
    public enum Behaviour {
        OK,
        E500,
        R429,
        SLOW,
        RESET,
        CUT_MID_STREAM,
        CUT_BEFORE_FIRST,
        CONTEXT_LENGTH,
        BAD_REQUEST,
        NO_USAGE,
        SLOW_STREAM,
        /** Sends the stream's headers, then only keep-alive comments, every 100 ms, forever. */
        STALL,
        /**
         * Streams exactly the request's {@code max_tokens} tokens (by cl100k_base, another
         * tokenizer than the gateway's), one token per chunk as providers do, and reports them.
         */
        EXACT_MAX_TOKENS
    }

    /** One recorded call. */
    public record Call(String format, String model, JsonObject body, Map<String, String> headers) {}

    public static final int USAGE_IN = 11;
    public static final int USAGE_OUT = 7;

    private static final Map<String, Deque<Behaviour>> SCRIPTS = new ConcurrentHashMap<>();
    private static final Map<String, AtomicInteger> COUNTS = new ConcurrentHashMap<>();
    private static final List<Call> CALLS = new CopyOnWriteArrayList<>();
    private static volatile int retryAfterSeconds = 1;
    private static volatile long slowMillis = 3000;

    private final Vertx vertx = Vertx.vertx();
    private HttpServer server;

    public int start() throws Exception {
        server =
                vertx.createHttpServer()
                        .requestHandler(
                                r ->
                                        r.body()
                                                .onSuccess(
                                                        b -> {
                                                            try {
                                                                handle(
                                                                        r,
                                                                        b.length() == 0
                                                                                ? new JsonObject()
                                                                                : b.toJsonObject());
                                                            } catch (RuntimeException e) {
                                                                r.response()
                                                                        .setStatusCode(500)
                                                                        .end(e.toString());
                                                            }
                                                        }))
                        .listen(0, "127.0.0.1")
                        .toCompletionStage()
                        .toCompletableFuture()
                        .get(10, TimeUnit.SECONDS);
        return server.actualPort();
    }

    public void stop() {
        vertx.close();
    }

    /** Queues behaviours for the next calls of a model. */
    public static void script(String model, Behaviour... behaviours) {
        SCRIPTS.computeIfAbsent(model, m -> new ArrayDeque<>()).addAll(List.of(behaviours));
    }

    public static int calls(String model) {
        return COUNTS.getOrDefault(model, new AtomicInteger()).get();
    }

    public static List<Call> recorded(String model) {
        return CALLS.stream().filter(c -> c.model().equals(model)).toList();
    }

    public static void retryAfter(int seconds) {
        retryAfterSeconds = seconds;
    }

    public static void slow(long millis) {
        slowMillis = millis;
    }

    private void handle(HttpServerRequest r, JsonObject body) {
        String path = r.path();
        String format;
        String model;
        boolean stream;
        if (path.startsWith("/gemini/")) {
            format = "gemini";
            String last = path.substring(path.lastIndexOf('/') + 1);
            model = last.substring(0, last.indexOf(':'));
            stream = last.endsWith(":streamGenerateContent");
        } else if (path.startsWith("/anthropic/")) {
            format = "anthropic";
            model = body.getString("model");
            stream = body.getBoolean("stream", false);
        } else {
            format = path.endsWith("/embeddings") ? "openai-embeddings" : "openai";
            model = body.getString("model");
            stream = body.getBoolean("stream", false);
        }
        Map<String, String> headers = new java.util.HashMap<>();
        r.headers().forEach(h -> headers.put(h.getKey().toLowerCase(), h.getValue()));
        CALLS.add(new Call(format, model, body, headers));
        COUNTS.computeIfAbsent(model, m -> new AtomicInteger()).incrementAndGet();
        Deque<Behaviour> script = SCRIPTS.get(model);
        Behaviour b = script == null ? null : script.poll();
        b = b == null ? Behaviour.OK : b;
        HttpServerResponse res = r.response();
        switch (b) {
            case E500 ->
                    error(
                            res,
                            format,
                            500,
                            "server_error",
                            "The server had an error while processing your request.");
            case R429 -> {
                res.putHeader("Retry-After", String.valueOf(retryAfterSeconds));
                error(res, format, 429, "rate_limit_exceeded", "Rate limit reached for requests");
            }
            case CONTEXT_LENGTH ->
                    error(
                            res,
                            format,
                            400,
                            "context_length_exceeded",
                            format.equals("anthropic")
                                    ? "prompt is too long: 250000 tokens > 200000 maximum"
                                    : "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.");
            case BAD_REQUEST ->
                    error(
                            res,
                            format,
                            400,
                            "invalid_value",
                            "Invalid value for 'temperature': must be at most 2.");
            case RESET -> r.connection().close();
            case SLOW ->
                    vertx.setTimer(
                            slowMillis,
                            t -> answer(res, format, model, body, stream, Behaviour.OK));
            default -> answer(res, format, model, body, stream, b);
        }
    }

    private void answer(
            HttpServerResponse res,
            String format,
            String model,
            JsonObject body,
            boolean stream,
            Behaviour b) {
        if (res.closed()) {
            return;
        }
        String text = "echo: " + lastUserText(format, body);
        boolean tools = body.containsKey("tools");
        if (format.equals("openai-embeddings")) {
            JsonArray data =
                    new JsonArray()
                            .add(
                                    new JsonObject()
                                            .put("object", "embedding")
                                            .put("index", 0)
                                            .put(
                                                    "embedding",
                                                    new JsonArray().add(0.1).add(0.2).add(0.3)));
            json(
                    res,
                    new JsonObject()
                            .put("object", "list")
                            .put("model", model)
                            .put("data", data)
                            .put(
                                    "usage",
                                    new JsonObject()
                                            .put("prompt_tokens", 3)
                                            .put("total_tokens", 3)));
            return;
        }
        if (!stream) {
            json(
                    res,
                    switch (format) {
                        case "anthropic" -> FakeFormats.anthropicMessage(model, text, tools);
                        case "gemini" -> FakeFormats.geminiResponse(model, text, tools, true, true);
                        default -> FakeFormats.openAiCompletion(model, text, tools);
                    });
            return;
        }
        List<String> events =
                b == Behaviour.EXACT_MAX_TOKENS
                        ? FakeFormats.openAiTokenEvents(
                                model,
                                body.getInteger(
                                        "max_tokens", body.getInteger("max_completion_tokens", 16)))
                        : switch (format) {
                            case "anthropic" -> FakeFormats.anthropicEvents(model, text, tools);
                            case "gemini" ->
                                    FakeFormats.geminiEvents(
                                            model, text, tools, b != Behaviour.NO_USAGE);
                            default ->
                                    FakeFormats.openAiEvents(
                                            model,
                                            text,
                                            tools,
                                            b != Behaviour.NO_USAGE
                                                    && body.getJsonObject(
                                                                    "stream_options",
                                                                    new JsonObject())
                                                            .getBoolean("include_usage", false));
                        };
        res.setChunked(true).putHeader("Content-Type", "text/event-stream");
        if (b == Behaviour.CUT_BEFORE_FIRST) {
            res.write(": opening\n\n").onComplete(x -> res.reset());
            return;
        }
        if (b == Behaviour.STALL) {
            long timer =
                    vertx.setPeriodic(
                            100,
                            t -> {
                                if (!res.closed()) {
                                    res.write(": keep-alive\n\n");
                                }
                            });
            res.closeHandler(v -> vertx.cancelTimer(timer));
            return;
        }
        List<String> toSend = new ArrayList<>(events);
        if (b == Behaviour.CUT_MID_STREAM) {
            toSend = toSend.subList(0, Math.min(3, toSend.size()));
        }
        List<String> finalSend = toSend;
        writeSlowly(
                res,
                finalSend,
                0,
                b == Behaviour.CUT_MID_STREAM,
                b == Behaviour.SLOW_STREAM ? 150 : 2);
    }

    private void writeSlowly(
            HttpServerResponse res, List<String> events, int i, boolean cut, long gapMillis) {
        if (res.closed()) {
            return;
        }
        if (i == events.size()) {
            if (cut) {
                vertx.setTimer(20, t -> res.reset());
            } else {
                res.end();
            }
            return;
        }
        res.write(events.get(i))
                .onComplete(
                        x ->
                                vertx.setTimer(
                                        gapMillis,
                                        t -> writeSlowly(res, events, i + 1, cut, gapMillis)));
    }

    private static void json(HttpServerResponse res, JsonObject body) {
        res.putHeader("Content-Type", "application/json").end(body.encode());
    }

    private static void error(
            HttpServerResponse res, String format, int status, String code, String message) {
        JsonObject body =
                switch (format) {
                    case "anthropic" ->
                            new JsonObject()
                                    .put("type", "error")
                                    .put(
                                            "error",
                                            new JsonObject()
                                                    .put(
                                                            "type",
                                                            status == 429
                                                                    ? "rate_limit_error"
                                                                    : status >= 500
                                                                            ? "api_error"
                                                                            : "invalid_request_error")
                                                    .put("message", message));
                    case "gemini" ->
                            new JsonObject()
                                    .put(
                                            "error",
                                            new JsonObject()
                                                    .put("code", status)
                                                    .put("message", message)
                                                    .put(
                                                            "status",
                                                            status == 429
                                                                    ? "RESOURCE_EXHAUSTED"
                                                                    : status >= 500
                                                                            ? "INTERNAL"
                                                                            : "INVALID_ARGUMENT"));
                    default ->
                            new JsonObject()
                                    .put(
                                            "error",
                                            new JsonObject()
                                                    .put("message", message)
                                                    .put(
                                                            "type",
                                                            status >= 500
                                                                    ? "server_error"
                                                                    : "invalid_request_error")
                                                    .put("param", (String) null)
                                                    .put("code", code));
                };
        res.setStatusCode(status).putHeader("Content-Type", "application/json").end(body.encode());
    }

    private static String lastUserText(String format, JsonObject body) {
        switch (format) {
            case "gemini":
                {
                    JsonArray contents = body.getJsonArray("contents", new JsonArray());
                    JsonObject last =
                            contents.isEmpty()
                                    ? new JsonObject()
                                    : contents.getJsonObject(contents.size() - 1);
                    JsonArray parts = last.getJsonArray("parts", new JsonArray());
                    return parts.isEmpty() ? "" : parts.getJsonObject(0).getString("text", "");
                }
            default:
                {
                    JsonArray messages = body.getJsonArray("messages", new JsonArray());
                    JsonObject last =
                            messages.isEmpty()
                                    ? new JsonObject()
                                    : messages.getJsonObject(messages.size() - 1);
                    Object content = last.getValue("content");
                    if (content instanceof String s) {
                        return s;
                    }
                    if (content instanceof JsonArray parts && !parts.isEmpty()) {
                        return parts.getJsonObject(0)
                                .getString("text", parts.getJsonObject(0).getString("type"));
                    }
                    return "";
                }
        }
    }
}
