package io.flotilla.gateway.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.common.secret.Secrets;
import io.flotilla.common.tokens.TokenEstimator;
import io.flotilla.gateway.governance.Governor;
import io.flotilla.gateway.governance.Grant;
import io.flotilla.gateway.governance.Ledger;
import io.flotilla.gateway.key.Keys;
import io.flotilla.gateway.openai.OpenAiError;
import io.flotilla.gateway.openai.RateHeaders;
import io.flotilla.gateway.route.Target;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.trace.Span;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.subscription.Cancellable;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jboss.logging.Logger;

/**
 * One /v1 request from reservation to ledger row: reserve against the caller's scopes, call the
 * targets, answer (JSON or SSE), then settle the real usage and record it. Settling after the
 * answer is safe: the reservation already holds the most the request can cost.
 */
final class Exchange {

    private static final Logger LOG = Logger.getLogger(Exchange.class);

    /** Tokenizers differ between providers: reserve the prompt with a margin over our estimate. */
    private static final double PROMPT_MARGIN = 1.1;

    private final RoutingContext ctx;
    private final ObjectNode request;
    private final boolean isChat;
    private final Span span;
    private final ChatService chat;
    private final Governor governor;
    private final Ledger ledger;
    private final MeterRegistry meters;
    private final Idempotency idempotency;
    private final long started = System.nanoTime();
    private final AtomicBoolean settled = new AtomicBoolean();
    private Keys.Caller caller;
    private ChatService.Plan plan;
    private Grant grant;
    private Target target;
    private int promptEstimate = -1;

    /** The Idempotency-Key this request holds (it runs for it), or null. */
    private String heldKey;

    Exchange(
            RoutingContext ctx,
            ObjectNode request,
            boolean isChat,
            Span span,
            ChatService chat,
            Governor governor,
            Ledger ledger,
            MeterRegistry meters,
            Idempotency idempotency) {
        this.idempotency = idempotency;
        this.ctx = ctx;
        this.request = request;
        this.isChat = isChat;
        this.span = span;
        this.chat = chat;
        this.governor = governor;
        this.ledger = ledger;
        this.meters = meters;
    }

    ChatService.Plan plan() {
        return plan;
    }

    Target target() {
        return target;
    }

    /**
     * Plans, reserves and calls; the Uni ends when the answer is written (or, for a stream,
     * started).
     */
    Uni<Void> run(Keys.Caller who) {
        caller = who;
        span.setAttribute(GenAiSpans.TENANT, caller.tenant());
        String key = ctx.request().getHeader("Idempotency-Key");
        if (key == null || !isChat) {
            return execute();
        }
        if (key.isBlank() || key.length() > 255) {
            throw OpenAiError.invalid(
                    "Idempotency-Key", "Idempotency-Key must be 1 to 255 characters");
        }
        String hash = HexFormat.of().formatHex(Secrets.sha256(request.toString()));
        return idempotency
                .claim(caller.keyId(), key, hash)
                .chain(
                        claim -> {
                            if (claim instanceof Idempotency.Replay replay) {
                                replay(replay);
                                return Uni.createFrom().voidItem();
                            }
                            heldKey = key;
                            return execute();
                        });
    }

    /** Answers a repeat of an Idempotency-Key with the first request's response. */
    private void replay(Idempotency.Replay replay) {
        span.setAttribute(GenAiSpans.REPLAYED, true);
        HttpServerResponse response = ctx.response();
        if (!response.closed()) {
            response.putHeader("Content-Type", replay.contentType())
                    .putHeader("Idempotent-Replayed", "true")
                    .putHeader("x-flotilla-cost-usd", replay.costUsd())
                    .setStatusCode(200)
                    .end(replay.body());
        }
    }

    /** This request failed: its Idempotency-Key, if it held one, is free for a repeat. */
    void releaseKey() {
        if (heldKey != null) {
            idempotency.release(caller.keyId(), heldKey);
            heldKey = null;
        }
    }

    private Uni<Void> execute() {
        plan = chat.plan(caller, request, isChat);
        String named = ctx.request().getHeader("X-Flotilla-Budget");
        if (named != null && (named.isBlank() || named.length() > 200)) {
            throw OpenAiError.invalid(
                    "X-Flotilla-Budget",
                    "X-Flotilla-Budget must name a budget scope, e.g. run:42 (at most 200 characters)");
        }
        // tokenize only when something needs the count: an ungoverned request never does
        int prompt =
                !governor.enabled()
                        ? 0
                        : isChat
                                ? (int) Math.ceil(promptEstimate() * PROMPT_MARGIN) + 8
                                : promptEstimate();
        String maxField = maxTokensField();
        Integer asked =
                request.path(maxField).canConvertToInt() && !request.path(maxField).isNull()
                        ? request.path(maxField).asInt()
                        : null;
        return governor.reserve(
                        caller,
                        plan.alias(),
                        named == null ? null : named.trim(),
                        plan.order(),
                        prompt,
                        completionToReserve(isChat, asked))
                .chain(
                        g -> {
                            grant = g;
                            int within = maxTokensWithin(g.completionTokens());
                            if (isChat && governor.enabled() && (asked == null || within < asked)) {
                                // the upstream may not write more than was reserved, less the
                                // tolerance our own count of its stream is allowed
                                request.put(maxField, within);
                            }
                            if (isChat && request.path("stream").asBoolean(false)) {
                                return chat.stream(plan, request, span)
                                        .invoke(this::stream)
                                        .replaceWithVoid();
                            }
                            return (isChat
                                            ? chat.complete(plan, request, span)
                                            : chat.embed(plan, request, span))
                                    .invoke(this::respond)
                                    .replaceWithVoid();
                        });
    }

    /** Our estimate of the prompt's tokens, computed once. */
    private int promptEstimate() {
        if (promptEstimate < 0) {
            promptEstimate = isChat ? TokenEstimator.promptTokens(request) : embeddingTokens();
        }
        return promptEstimate;
    }

    private int embeddingTokens() {
        JsonNode input = request.path("input");
        int n = 0;
        if (input.isArray()) {
            for (JsonNode i : input) {
                n += TokenEstimator.count(i.asText());
            }
        } else {
            n = TokenEstimator.count(input.asText());
        }
        return n;
    }

    private void respond(Attempts.Result<ObjectNode> result) {
        target = result.target();
        JsonNode usage = result.value().path("usage");
        long in = usage.path("prompt_tokens").asLong();
        long out = usage.path("completion_tokens").asLong();
        long cached = Governor.cachedTokens(usage);
        long cost = Governor.costMicros(target, in, cached, out);
        GenAiSpans.usage(span, target.model(), in, out);
        HttpServerResponse response = ctx.response();
        headers(response, result);
        String costUsd = usd(cost);
        response.putHeader("x-flotilla-cost-usd", costUsd);
        String body = result.value().toString();
        if (!response.closed()) {
            response.putHeader("Content-Type", "application/json").setStatusCode(200).end(body);
        }
        // kept even when the caller has gone: its repeat (a reclaimed step) gets this answer
        keep("application/json", costUsd, body);
        settle(in, cached, out, 200, false);
    }

    private void stream(Attempts.Result<Multi<ObjectNode>> result) {
        target = result.target();
        HttpServerResponse response = ctx.response();
        boolean includeUsage =
                request.path("stream_options").path("include_usage").asBoolean(false);
        // cut only an upstream that demonstrably ignores max_tokens: past the reservation, which
        // is what it was sent plus the tolerance (docs/gateway.md, "Streams")
        CompletionCount count =
                new CompletionCount(grant.metered() ? grant.completionTokens() : -1);
        JsonNode[] reported = {null};
        headers(response, result);
        response.setChunked(true)
                .setStatusCode(200)
                .putHeader("Content-Type", "text/event-stream")
                .putHeader("Cache-Control", "no-cache");
        // what the client receives, for repeats of an Idempotency-Key (bounded when kept)
        StringBuilder sent = heldKey == null ? null : new StringBuilder();
        Cancellable[] subscription = {null};
        subscription[0] =
                result.value()
                        .subscribe()
                        .with(
                                chunk -> {
                                    if (chunk.path("usage").isObject()) {
                                        reported[0] = chunk.path("usage");
                                    }
                                    if (count.add(chunk)) {
                                        if (subscription[0] != null) {
                                            subscription[0].cancel();
                                        }
                                        // settled (and the span given its usage) before the
                                        // response ends, which ends the request's span
                                        settleStream(count, reported[0], 200);
                                        endWithError(
                                                response,
                                                "budget_exhausted",
                                                "the upstream wrote past the "
                                                        + request.path(maxTokensField()).asText()
                                                        + " tokens it was sent as max_tokens (and"
                                                        + " the tolerance): the answer is cut at "
                                                        + grant.completionTokens()
                                                        + " tokens and incomplete");
                                        releaseKey();
                                        return;
                                    }
                                    boolean usageOnly =
                                            chunk.path("choices").isEmpty() && chunk.has("usage");
                                    if (usageOnly) {
                                        if (!includeUsage) {
                                            return; // the gateway asked for usage; the caller did
                                            // not
                                        }
                                        ((ObjectNode) chunk.get("usage"))
                                                .put(
                                                        "x_flotilla_cost_usd",
                                                        usd(cost(count, reported[0])));
                                    } else if (!includeUsage) {
                                        chunk.remove("usage");
                                    }
                                    String event = "data: " + chunk + "\n\n";
                                    if (sent != null) {
                                        sent.append(event);
                                    }
                                    if (!response.closed()) {
                                        response.write(event);
                                    }
                                },
                                failure -> {
                                    LOG.warnf(
                                            failure,
                                            "stream from %s broke mid-way: %s",
                                            target.id(),
                                            failure.getMessage());
                                    meters.counter(
                                                    "flotilla.gateway.streams.broken",
                                                    "target",
                                                    target.id())
                                            .increment();
                                    GenAiSpans.failed(span, "stream_interrupted");
                                    settleStream(count, reported[0], 502);
                                    endWithError(
                                            response,
                                            "stream_interrupted",
                                            "the upstream stream from "
                                                    + target.id()
                                                    + " broke before it finished; the answer is incomplete, retry the request");
                                    releaseKey();
                                },
                                () -> {
                                    settleStream(count, reported[0], 200);
                                    if (!response.closed()) {
                                        response.end("data: [DONE]\n\n");
                                    }
                                    if (sent != null) {
                                        keep(
                                                "text/event-stream",
                                                usd(cost(count, reported[0])),
                                                sent.append("data: [DONE]\n\n").toString());
                                    }
                                });
        response.closeHandler(
                v -> {
                    subscription[0].cancel();
                    releaseKey(); // nothing whole to replay: the upstream is stopped
                    settleStream(
                            count,
                            reported[0],
                            499); // the client went away: charge what was produced
                });
    }

    private static void endWithError(HttpServerResponse response, String code, String message) {
        if (!response.closed() && !response.ended()) {
            response.end(
                    "data: "
                            + new OpenAiError(502, "api_error", code, null, message, null).body()
                            + "\n\n");
        }
    }

    /**
     * Settles a stream with the upstream's reported usage, the truth; without one, with the
     * gateway's count of the assembled text.
     */
    private void settleStream(CompletionCount count, JsonNode reported, int status) {
        long in = reported != null ? reported.path("prompt_tokens").asLong() : promptEstimate();
        long out =
                reported != null
                        ? Math.max(reported.path("completion_tokens").asLong(), 0)
                        : count.tokens();
        if (reported == null) {
            meters.counter("flotilla.gateway.streams.counted_locally", "target", target.id())
                    .increment();
        }
        GenAiSpans.usage(span, target.model(), in, out);
        settle(in, Governor.cachedTokens(reported), out, status, true);
    }

    /** Keeps the final response for repeats of the Idempotency-Key this request holds. */
    private void keep(String contentType, String costUsd, String body) {
        if (heldKey != null) {
            idempotency.complete(caller.keyId(), heldKey, contentType, costUsd, body);
            heldKey = null;
        }
    }

    /**
     * Tokens a stream may hold beyond the {@code max_tokens} it was sent before the gateway cuts
     * it: the upstream counts with its own tokenizer, the gateway with o200k.
     */
    static int tolerance(int maxTokens) {
        return Math.max(16, maxTokens / 4);
    }

    /**
     * The largest {@code max_tokens} whose tolerance still fits a reservation of {@code reserved}
     * completion tokens (at least 1).
     */
    static int maxTokensWithin(int reserved) {
        int s = Math.max(1, reserved * 4 / 5);
        while (s > 1 && s + tolerance(s) > reserved) {
            s--;
        }
        return s;
    }

    /** The completion tokens to reserve: max_tokens and its tolerance (none for embeddings). */
    private static Integer completionToReserve(boolean isChat, Integer asked) {
        if (!isChat) {
            return 0;
        }
        return asked == null ? null : asked + tolerance(asked);
    }

    private String maxTokensField() {
        return request.has("max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
    }

    private long cost(CompletionCount count, JsonNode reported) {
        return reported != null
                ? Governor.costMicros(
                        target,
                        reported.path("prompt_tokens").asLong(),
                        Governor.cachedTokens(reported),
                        reported.path("completion_tokens").asLong())
                : Governor.costMicros(target, promptEstimate(), 0, count.tokens());
    }

    /**
     * Settles once and records the ledger row (in memory: both are written to Postgres later). The
     * request's span is the HTTP server span, which ends with the response.
     */
    void settle(long in, long cachedIn, long out, int status, boolean stream) {
        if (!settled.compareAndSet(false, true)) {
            return;
        }
        long cost = target == null ? 0 : Governor.costMicros(target, in, cachedIn, out);
        if (grant != null) {
            governor.settle(grant, in + out, cost).subscribe().with(v -> {}, e -> {});
        }
        if (caller != null && plan != null && governor.enabled()) {
            ledger.record(
                    new Ledger.Entry(
                            Ledger.rowId(),
                            java.time.OffsetDateTime.now(java.time.ZoneOffset.UTC),
                            caller.tenant(),
                            caller.keyId(),
                            scopes(),
                            plan.alias(),
                            target == null ? null : target.provider(),
                            target == null ? null : target.model(),
                            in,
                            out,
                            cost,
                            (int) ((System.nanoTime() - started) / 1_000_000),
                            status,
                            stream));
        }
        if (in + out > 0 && plan != null) {
            meters.counter("flotilla.gateway.tokens", "alias", plan.alias(), "type", "input")
                    .increment(in);
            meters.counter("flotilla.gateway.tokens", "alias", plan.alias(), "type", "output")
                    .increment(out);
        }
    }

    private List<String> scopes() {
        String named = ctx.request().getHeader("X-Flotilla-Budget");
        List<String> fixed = Governor.fixedScopes(caller, plan.alias());
        if (named == null) {
            return fixed;
        }
        List<String> all = new java.util.ArrayList<>(fixed);
        all.add(named.trim());
        return all;
    }

    private void headers(HttpServerResponse response, Attempts.Result<?> result) {
        response.putHeader("x-flotilla-provider", result.target().provider())
                .putHeader("x-flotilla-model", result.target().model())
                .putHeader("x-flotilla-attempts", String.valueOf(result.calls()));
        if (!result.fallbacks().isEmpty()) {
            response.putHeader("x-flotilla-fallbacks", String.join(", ", result.fallbacks()));
        }
        if (plan.routedVia() != null) {
            response.putHeader("x-flotilla-route", plan.routedVia());
        }
        if (grant != null) {
            if (grant.clamped()) {
                // what the upstream was told; the reservation also holds the tolerance
                response.putHeader(
                        "x-flotilla-max-tokens-clamped", request.path(maxTokensField()).asText());
            }
            RateHeaders.write(
                    response,
                    new RateHeaders(
                            grant.limitRequests(),
                            grant.remainingRequests(),
                            grant.limitTokens(),
                            grant.remainingTokens(),
                            60));
        }
    }

    /** Micro-dollars as dollars with six decimals, exactly (no floating point, no Formatter). */
    static String usd(long micros) {
        return java.math.BigDecimal.valueOf(micros, 6).toPlainString();
    }
}
