package io.flotilla.executor.fake;

import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * Stands in for the gateway in the executor's {@code @QuarkusTest}s: speaks its {@code
 * /v1/chat/completions} wire format (OpenAI JSON, with the gateway's {@code x-flotilla-cost-usd}
 * header) and its budget scope admin call. What a call answers is scripted by a marker the test
 * puts in the prompt. Every call is recorded with its headers.
 */
public final class FakeGateway {

    /** One recorded chat call. */
    public record Call(
            String prompt,
            String model,
            String idempotencyKey,
            String budget,
            String traceparent,
            String authorization,
            JsonObject body,
            long atNanos) {}

    /**
     * What a call answers: content (JSON or text) after a delay, or an error status with an OpenAI
     * error code.
     */
    public record Reply(
            int status, String content, String code, long delayMillis, JsonArray toolCalls) {
        public static Reply ok(String content) {
            return new Reply(200, content, null, 0, null);
        }

        public static Reply error(int status, String code) {
            return new Reply(status, null, code, 0, null);
        }

        /** An assistant turn that calls {@code tool} with {@code arguments} (JSON text). */
        public static Reply toolCall(String id, String tool, String arguments) {
            return new Reply(
                    200,
                    null,
                    null,
                    0,
                    new JsonArray()
                            .add(
                                    new JsonObject()
                                            .put("id", id)
                                            .put("type", "function")
                                            .put(
                                                    "function",
                                                    new JsonObject()
                                                            .put("name", tool)
                                                            .put("arguments", arguments))));
        }

        public Reply after(long millis) {
            return new Reply(status, content, code, millis, toolCalls);
        }
    }

    public static final int PROMPT_TOKENS = 10;
    public static final int COMPLETION_TOKENS = 5;
    public static final String COST = "0.000125";

    private static final Map<String, Function<Call, Reply>> SCRIPTS = new ConcurrentHashMap<>();
    private static final List<Call> CALLS = new CopyOnWriteArrayList<>();
    private static final Map<String, JsonObject> SCOPES = new ConcurrentHashMap<>();
    private static final Map<String, AtomicInteger> IN_FLIGHT = new ConcurrentHashMap<>();
    private static final Map<String, AtomicInteger> MAX_IN_FLIGHT = new ConcurrentHashMap<>();

    private final Vertx vertx = Vertx.vertx();
    private HttpServer server;

    public int start() throws Exception {
        server =
                vertx.createHttpServer()
                        .requestHandler(
                                r ->
                                        r.body()
                                                .onSuccess(
                                                        b ->
                                                                handle(
                                                                        r,
                                                                        b.length() == 0
                                                                                ? new JsonObject()
                                                                                : b
                                                                                        .toJsonObject())))
                        .listen(0, "127.0.0.1")
                        .toCompletionStage()
                        .toCompletableFuture()
                        .get(10, TimeUnit.SECONDS);
        return server.actualPort();
    }

    public void stop() {
        vertx.close();
    }

    /**
     * Calls whose prompt contains {@code marker} answer what {@code script} says (the first
     * matching marker wins).
     */
    public static void script(String marker, Function<Call, Reply> script) {
        SCRIPTS.put(marker, script);
    }

    public static List<Call> calls(String marker) {
        return CALLS.stream().filter(c -> c.prompt().contains(marker)).toList();
    }

    /** The most calls with this marker that were in flight at once. */
    public static int maxInFlight(String marker) {
        return MAX_IN_FLIGHT.getOrDefault(marker, new AtomicInteger()).get();
    }

    public static JsonObject scope(String name) {
        return SCOPES.get(name);
    }

    private void handle(HttpServerRequest r, JsonObject body) {
        if (r.path().startsWith("/admin/v1/scopes/")) {
            SCOPES.put(
                    r.path().substring("/admin/v1/scopes/".length()),
                    body.put("authorization", r.getHeader("Authorization")));
            r.response().putHeader("Content-Type", "application/json").end(body.encode());
            return;
        }
        JsonArray messages = body.getJsonArray("messages", new JsonArray());
        String prompt =
                messages.stream()
                        .map(m -> ((JsonObject) m).getValue("content"))
                        .map(String::valueOf)
                        .reduce("", (a, b) -> a + "\n" + b);
        Call call =
                new Call(
                        prompt,
                        body.getString("model"),
                        r.getHeader("Idempotency-Key"),
                        r.getHeader("X-Flotilla-Budget"),
                        r.getHeader("traceparent"),
                        r.getHeader("Authorization"),
                        body,
                        System.nanoTime());
        CALLS.add(call);
        String marker = SCRIPTS.keySet().stream().filter(prompt::contains).findFirst().orElse(null);
        Reply reply = marker == null ? Reply.ok("ok") : SCRIPTS.get(marker).apply(call);
        AtomicInteger inFlight =
                IN_FLIGHT.computeIfAbsent(String.valueOf(marker), k -> new AtomicInteger());
        int now = inFlight.incrementAndGet();
        MAX_IN_FLIGHT
                .computeIfAbsent(String.valueOf(marker), k -> new AtomicInteger())
                .accumulateAndGet(now, Math::max);
        Runnable answer =
                () -> {
                    inFlight.decrementAndGet();
                    if (reply.status() != 200) {
                        r.response()
                                .setStatusCode(reply.status())
                                .putHeader("Content-Type", "application/json")
                                .end(
                                        new JsonObject()
                                                .put(
                                                        "error",
                                                        new JsonObject()
                                                                .put(
                                                                        "message",
                                                                        "scripted " + reply.code())
                                                                .put("type", "scripted")
                                                                .put("code", reply.code()))
                                                .encode());
                        return;
                    }
                    JsonObject completion =
                            new JsonObject()
                                    .put("id", "chatcmpl-" + CALLS.size())
                                    .put("object", "chat.completion")
                                    .put("created", System.currentTimeMillis() / 1000)
                                    .put("model", body.getString("model"))
                                    .put(
                                            "choices",
                                            new JsonArray()
                                                    .add(
                                                            new JsonObject()
                                                                    .put("index", 0)
                                                                    .put(
                                                                            "finish_reason",
                                                                            reply.toolCalls()
                                                                                            == null
                                                                                    ? "stop"
                                                                                    : "tool_calls")
                                                                    .put(
                                                                            "message",
                                                                            message(reply))))
                                    .put(
                                            "usage",
                                            new JsonObject()
                                                    .put("prompt_tokens", PROMPT_TOKENS)
                                                    .put("completion_tokens", COMPLETION_TOKENS)
                                                    .put(
                                                            "total_tokens",
                                                            PROMPT_TOKENS + COMPLETION_TOKENS));
                    r.response()
                            .putHeader("Content-Type", "application/json")
                            .putHeader("x-flotilla-cost-usd", COST)
                            .end(completion.encode());
                };
        if (reply.delayMillis() > 0) {
            vertx.setTimer(reply.delayMillis(), t -> answer.run());
        } else {
            answer.run();
        }
    }

    private static JsonObject message(Reply reply) {
        JsonObject message =
                new JsonObject().put("role", "assistant").put("content", reply.content());
        if (reply.toolCalls() != null) {
            message.put("tool_calls", reply.toolCalls());
        }
        return message;
    }
}
