package io.flotilla.gateway.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.common.secret.Secrets;
import io.flotilla.gateway.config.GatewayConfig;
import io.flotilla.gateway.governance.Governor;
import io.flotilla.gateway.governance.Ledger;
import io.flotilla.gateway.key.Keys;
import io.flotilla.gateway.openai.OpenAiError;
import io.flotilla.gateway.openai.RateHeaders;
import io.flotilla.gateway.provider.UpstreamFailure;
import io.flotilla.gateway.route.RouteTable;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.trace.Span;
import io.smallrye.mutiny.Uni;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import jakarta.enterprise.event.Observes;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.time.Instant;
import java.util.UUID;
import org.jboss.logging.Logger;

/**
 * OpenAI's HTTP surface ({@code /v1/chat/completions}, {@code /v1/embeddings}, {@code /v1/models})
 * on a plain Vert.x router: the path from request to provider has no framework layer between, and
 * the SSE bytes are written exactly as OpenAI writes them.
 */
@Singleton
public class ChatRoutes {

    private static final Logger LOG = Logger.getLogger(ChatRoutes.class);
    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private final ChatService chat;
    private final Keys keys;
    private final RouteTable routes;
    private final GatewayConfig config;
    private final MeterRegistry meters;
    private final GenAiSpans spans;
    private final Governor governor;
    private final Ledger ledger;

    private final ObjectMapper json;
    private final Idempotency idempotency;

    ChatRoutes(
            ChatService chat,
            Keys keys,
            RouteTable routes,
            GatewayConfig config,
            MeterRegistry meters,
            GenAiSpans spans,
            Governor governor,
            Ledger ledger,
            ObjectMapper json,
            Idempotency idempotency) {
        this.json = json;
        this.idempotency = idempotency;
        this.spans = spans;
        this.governor = governor;
        this.ledger = ledger;
        this.chat = chat;
        this.keys = keys;
        this.routes = routes;
        this.config = config;
        this.meters = meters;
    }

    void init(@Observes Router router) {
        // before the shared problem-document check: /v1 answers in OpenAI's error envelope
        router.route("/v1/*")
                .order(io.flotilla.common.problem.RequestLimits.ORDER - 1)
                .handler(
                        ctx -> {
                            long bytes =
                                    io.flotilla.common.problem.RequestLimits.contentLength(
                                            ctx.request().getHeader("Content-Length"));
                            if (bytes <= config.maxBodyBytes()) {
                                ctx.next();
                                return;
                            }
                            fail(
                                    ctx,
                                    new OpenAiError(
                                            413,
                                            "invalid_request_error",
                                            "request_too_large",
                                            null,
                                            "the body has "
                                                    + bytes
                                                    + " bytes; this gateway accepts at most "
                                                    + config.maxBodyBytes()
                                                    + " (flotilla.gateway.max-body-bytes)",
                                            null));
                        });
        BodyHandler body = BodyHandler.create(false).setBodyLimit(config.maxBodyBytes());
        router.post("/v1/chat/completions").handler(body).handler(ctx -> handle(ctx, true));
        router.post("/v1/embeddings").handler(body).handler(ctx -> handle(ctx, false));
        router.get("/v1/models").handler(this::models);
        router.route("/v1/*")
                .last()
                .handler(
                        ctx ->
                                fail(
                                        ctx,
                                        new OpenAiError(
                                                404,
                                                "invalid_request_error",
                                                "unknown_url",
                                                null,
                                                "no endpoint "
                                                        + ctx.request().method()
                                                        + " "
                                                        + ctx.request().path()
                                                        + "; this gateway serves /v1/chat/completions, /v1/embeddings and /v1/models",
                                                null)));
    }

    private void handle(RoutingContext ctx, boolean isChat) {
        Timer.Sample timer = Timer.start(meters);
        ObjectNode request;
        try {
            JsonNode parsed =
                    json.readTree(
                            ctx.body().buffer() == null
                                    ? new byte[0]
                                    : ctx.body().buffer().getBytes());
            if (parsed == null || !parsed.isObject()) {
                throw new IOException("not an object");
            }
            request = (ObjectNode) parsed;
        } catch (IOException e) {
            fail(
                    ctx,
                    OpenAiError.invalid(
                            null,
                            "the body must be a JSON object (see the OpenAI API reference); it could not be parsed"));
            return;
        }
        Span span = spans.request(ctx, isChat ? "chat" : "embeddings", request);
        Exchange exchange =
                new Exchange(
                        ctx, request, isChat, span, chat, governor, ledger, meters, idempotency);
        authenticate(ctx)
                .chain(exchange::run)
                .subscribe()
                .with(
                        ok -> record(timer, ctx, isChat, exchange),
                        failure -> {
                            // before the answer: it ends the request's span
                            GenAiSpans.failed(
                                    span,
                                    failure instanceof OpenAiError e
                                            ? String.valueOf(e.status())
                                            : failure.getClass().getSimpleName());
                            fail(ctx, failure);
                            record(timer, ctx, isChat, exchange);
                            exchange.releaseKey();
                            exchange.settle(0, 0, 0, ctx.response().getStatusCode(), false);
                        });
    }

    private Uni<Keys.Caller> authenticate(RoutingContext ctx) {
        String secret = Secrets.bearer(ctx.request().getHeader("Authorization"));
        if (secret == null) {
            return Uni.createFrom()
                    .failure(
                            new OpenAiError(
                                    401,
                                    "authentication_error",
                                    "missing_api_key",
                                    null,
                                    "no API key: send your Flotilla virtual key as 'Authorization: Bearer <key>'",
                                    null));
        }
        return keys.authenticate(secret)
                .onFailure()
                .transform(governor::keyStoreFailure)
                .map(
                        caller -> {
                            if (caller == null) {
                                throw new OpenAiError(
                                        401,
                                        "authentication_error",
                                        "invalid_api_key",
                                        null,
                                        "the API key is not valid (unknown or revoked); ask your platform team for a key",
                                        null);
                            }
                            return caller;
                        });
    }

    private void models(RoutingContext ctx) {
        authenticate(ctx)
                .subscribe()
                .with(
                        caller -> {
                            ObjectNode list = F.objectNode().put("object", "list");
                            ArrayNode data = list.putArray("data");
                            long created = Instant.parse("2026-01-01T00:00:00Z").getEpochSecond();
                            routes.all()
                                    .forEach(
                                            (alias, route) -> {
                                                if (caller.allows(alias)) {
                                                    data.addObject()
                                                            .put("id", alias)
                                                            .put("object", "model")
                                                            .put("created", created)
                                                            .put(
                                                                    "owned_by",
                                                                    mockOnly(route)
                                                                            ? "flotilla-mock (offline mock provider, not a real model)"
                                                                            : "flotilla");
                                                }
                                            });
                            ctx.response()
                                    .putHeader("Content-Type", "application/json")
                                    .end(list.toString());
                        },
                        failure -> fail(ctx, failure));
    }

    private boolean mockOnly(io.flotilla.gateway.route.Route route) {
        if (!route.isAuto()) {
            return route.mockOnly();
        }
        io.flotilla.gateway.route.Route cheap = routes.route(route.auto().cheap());
        io.flotilla.gateway.route.Route strong = routes.route(route.auto().strong());
        return cheap != null && strong != null && cheap.mockOnly() && strong.mockOnly();
    }

    private void fail(RoutingContext ctx, Throwable failure) {
        HttpServerResponse response = ctx.response();
        if (response.headWritten()) {
            if (!response.ended() && !response.closed()) {
                response.end();
            }
            return;
        }
        OpenAiError error = toOpenAi(failure);
        RateHeaders.write(response, error.rate());
        if (error.retryAfter() != null) {
            response.putHeader(
                    "Retry-After",
                    String.valueOf(
                            Math.max(1, (long) Math.ceil(error.retryAfter().toMillis() / 1000.0))));
        }
        response.setStatusCode(error.status())
                .putHeader("Content-Type", "application/json")
                .end(error.body().toString());
    }

    private static OpenAiError toOpenAi(Throwable failure) {
        if (failure instanceof OpenAiError e) {
            return e;
        }
        if (failure instanceof UpstreamFailure f && f.kind() == UpstreamFailure.Kind.REJECTED) {
            int status = f.status() >= 400 && f.status() < 500 ? f.status() : 400;
            return new OpenAiError(
                    status,
                    "invalid_request_error",
                    "upstream_rejected",
                    null,
                    "the provider rejected the request: " + f.getMessage(),
                    null);
        }
        String ref = UUID.randomUUID().toString();
        LOG.errorf(failure, "unexpected failure, reference %s", ref);
        return new OpenAiError(
                500,
                "api_error",
                "internal_error",
                null,
                "the gateway failed unexpectedly; report reference " + ref,
                null);
    }

    private void record(Timer.Sample timer, RoutingContext ctx, boolean isChat, Exchange exchange) {
        ChatService.Plan plan = exchange.plan();
        String target = exchange.target() == null ? null : exchange.target().id();
        timer.stop(
                meters.timer(
                        "flotilla.gateway.requests",
                        "endpoint",
                        isChat ? "chat" : "embeddings",
                        "alias",
                        plan == null ? "none" : plan.alias(),
                        "target",
                        target == null ? "none" : target,
                        "status",
                        String.valueOf(ctx.response().getStatusCode())));
    }
}
