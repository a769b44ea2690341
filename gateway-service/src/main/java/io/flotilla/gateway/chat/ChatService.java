package io.flotilla.gateway.chat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.common.tokens.TokenEstimator;
import io.flotilla.gateway.config.GatewayConfig;
import io.flotilla.gateway.key.Keys;
import io.flotilla.gateway.openai.OpenAiError;
import io.flotilla.gateway.openai.OpenAiShapes;
import io.flotilla.gateway.provider.Providers;
import io.flotilla.gateway.provider.UpstreamFailure;
import io.flotilla.gateway.route.Route;
import io.flotilla.gateway.route.RouteTable;
import io.flotilla.gateway.route.Routes;
import io.flotilla.gateway.route.Target;
import io.opentelemetry.api.trace.Span;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import io.smallrye.mutiny.operators.multi.processors.UnicastProcessor;
import io.smallrye.mutiny.subscription.Cancellable;
import jakarta.inject.Singleton;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

/** Chooses the targets of a request (alias, auto rule, context window, weights) and calls them. */
@Singleton
public class ChatService {

    private static final Set<String> ROLES =
            Set.of("system", "developer", "user", "assistant", "tool", "function");

    private final RouteTable routes;
    private final Providers providers;
    private final Attempts attempts;
    private final GatewayConfig config;

    ChatService(RouteTable routes, Providers providers, Attempts attempts, GatewayConfig config) {
        this.routes = routes;
        this.providers = providers;
        this.attempts = attempts;
        this.config = config;
    }

    /** Targets to try, in order, and which alias chose them. */
    public record Plan(String alias, String routedVia, List<Target> order) {}

    public Plan plan(Keys.Caller caller, ObjectNode request, boolean chat) {
        Set<String> fields = chat ? OpenAiShapes.CHAT_FIELDS : OpenAiShapes.EMBEDDING_FIELDS;
        request.fieldNames()
                .forEachRemaining(
                        f -> {
                            if (!fields.contains(f)) {
                                throw OpenAiError.invalid(
                                        f,
                                        "unsupported parameter '"
                                                + f
                                                + "'; this gateway accepts "
                                                + new java.util.TreeSet<>(fields));
                            }
                        });
        if (chat) {
            validateChat(request);
        }
        String model = request.path("model").asText(null);
        if (model == null || model.isBlank()) {
            throw OpenAiError.invalid("model", "model is required: one of " + allowed(caller));
        }
        Route route = routes.route(model);
        if (route == null) {
            throw new OpenAiError(
                    404,
                    "invalid_request_error",
                    "model_not_found",
                    "model",
                    "the model '"
                            + model
                            + "' does not exist; available to this key: "
                            + allowed(caller),
                    null);
        }
        if (!caller.allows(model)) {
            throw new OpenAiError(
                    403,
                    "permission_error",
                    "model_not_allowed",
                    "model",
                    "model '"
                            + model
                            + "' is not allowed for this key; allowed: "
                            + allowed(caller),
                    null);
        }
        // tokenize only when the byte bound does not already settle the question
        int bound = chat ? TokenEstimator.promptTokensUpperBound(request) : 0;
        int[] exact = {-1};
        java.util.function.IntSupplier prompt =
                () -> exact[0] >= 0 ? exact[0] : (exact[0] = TokenEstimator.promptTokens(request));
        String via = null;
        if (route.isAuto()) {
            String preferred =
                    simple(route.auto(), request, prompt)
                            ? route.auto().cheap()
                            : route.auto().strong();
            String other =
                    preferred.equals(route.auto().cheap())
                            ? route.auto().strong()
                            : route.auto().cheap();
            // auto never routes a key to a model it may not use
            String chosen = caller.allows(preferred) ? preferred : other;
            if (!caller.allows(chosen)) {
                throw new OpenAiError(
                        403,
                        "permission_error",
                        "model_not_allowed",
                        "model",
                        "'"
                                + model
                                + "' routes to '"
                                + route.auto().cheap()
                                + "' or '"
                                + route.auto().strong()
                                + "', and this key may use neither; allowed: "
                                + allowed(caller),
                        null);
            }
            via = model + "->" + chosen;
            route = routes.route(chosen);
            if (route == null || route.isAuto()) {
                throw new OpenAiError(
                        500,
                        "api_error",
                        "route_misconfigured",
                        "model",
                        "the auto route '"
                                + model
                                + "' points at '"
                                + chosen
                                + "', which is not a plain route; tell the operator",
                        null);
            }
        }
        int maxTokens =
                request.path("max_completion_tokens")
                        .asInt(request.path("max_tokens").asInt(config.defaultMaxTokens()));
        List<Target> fitting =
                route.targets().stream()
                        .filter(
                                t ->
                                        !chat
                                                || t.fits(bound, maxTokens)
                                                || t.fits(prompt.getAsInt(), maxTokens))
                        .toList();
        if (fitting.isEmpty()) {
            int largest =
                    route.targets().stream()
                            .mapToInt(t -> t.contextWindow() == null ? 0 : t.contextWindow())
                            .max()
                            .orElse(0);
            throw new OpenAiError(
                    400,
                    "invalid_request_error",
                    "context_length_exceeded",
                    "messages",
                    "this request needs about "
                            + prompt.getAsInt()
                            + " prompt tokens plus max_tokens "
                            + maxTokens
                            + ", but the largest context window of '"
                            + route.alias()
                            + "' is "
                            + largest
                            + " tokens; shorten the messages or lower max_tokens",
                    null);
        }
        return new Plan(route.alias(), via, order(fitting));
    }

    public Uni<Attempts.Result<ObjectNode>> complete(Plan plan, ObjectNode request, Span span) {
        return attempts.run(
                plan.alias(),
                plan.order(),
                span,
                "chat",
                t -> providers.of(t).complete(t, request));
    }

    public Uni<Attempts.Result<ObjectNode>> embed(Plan plan, ObjectNode request, Span span) {
        return attempts.run(
                plan.alias(),
                plan.order(),
                span,
                "embeddings",
                t -> providers.of(t).embed(t, request));
    }

    /**
     * A stream that counts as started only once its first chunk arrived: a target that fails before
     * that is retried or replaced like a failed non-streaming call.
     */
    public Uni<Attempts.Result<Multi<ObjectNode>>> stream(
            Plan plan, ObjectNode request, Span span) {
        return attempts.run(
                plan.alias(),
                plan.order(),
                span,
                "chat",
                t -> providers.of(t).stream(t, request).chain(ChatService::firstChunk));
    }

    private static Uni<Multi<ObjectNode>> firstChunk(Multi<ObjectNode> chunks) {
        return Uni.createFrom()
                .emitter(
                        started -> {
                            UnicastProcessor<ObjectNode> rest = UnicastProcessor.create();
                            AtomicReference<Cancellable> upstream = new AtomicReference<>();
                            AtomicBoolean first = new AtomicBoolean(true);
                            Runnable cancel =
                                    () -> {
                                        Cancellable c = upstream.get();
                                        if (c != null) {
                                            c.cancel();
                                        }
                                    };
                            Multi<ObjectNode> handed = rest.onCancellation().invoke(cancel);
                            started.onTermination(
                                    () -> {
                                        if (first.get()) {
                                            cancel.run(); // nobody will read this stream
                                        }
                                    });
                            upstream.set(
                                    chunks.subscribe()
                                            .with(
                                                    chunk -> {
                                                        rest.onNext(chunk);
                                                        if (first.compareAndSet(true, false)) {
                                                            started.complete(handed);
                                                        }
                                                    },
                                                    failure -> {
                                                        if (first.get()) {
                                                            started.fail(failure);
                                                        } else {
                                                            rest.onError(failure);
                                                        }
                                                    },
                                                    () -> {
                                                        if (first.get()) {
                                                            started.fail(
                                                                    new UpstreamFailure(
                                                                            UpstreamFailure.Kind
                                                                                    .CONNECTION,
                                                                            "the upstream stream was empty"));
                                                        } else {
                                                            rest.onComplete();
                                                        }
                                                    }));
                        });
    }

    /** The documented auto rule: short, plain prompts go to the cheap alias. */
    static boolean simple(
            Routes.AutoSpec auto, JsonNode request, java.util.function.IntSupplier promptTokens) {
        if (promptTokens.getAsInt()
                > (auto.maxPromptTokens() == null ? 400 : auto.maxPromptTokens())) {
            return false;
        }
        if (request.path("tools").size() > 0
                || request.path("response_format").path("type").asText().equals("json_schema")) {
            return false;
        }
        String text = TokenEstimator.promptText(request).toLowerCase(Locale.ROOT);
        if (text.contains("```")) {
            return false;
        }
        return auto.strongKeywords() == null
                || auto.strongKeywords().stream()
                        .noneMatch(k -> text.contains(k.toLowerCase(Locale.ROOT)));
    }

    /** Weighted first pick among targets with weight > 0, then the rest in listed order. */
    static List<Target> order(List<Target> targets) {
        int total = targets.stream().mapToInt(Target::weight).sum();
        if (targets.size() < 2 || total == 0) {
            return targets;
        }
        int pick = ThreadLocalRandom.current().nextInt(total);
        Target first = null;
        for (Target t : targets) {
            pick -= t.weight();
            if (pick < 0) {
                first = t;
                break;
            }
        }
        List<Target> out = new ArrayList<>(targets.size());
        out.add(first);
        for (Target t : targets) {
            if (t != first) {
                out.add(t);
            }
        }
        return out;
    }

    private String allowed(Keys.Caller caller) {
        return caller.allowedModels().contains("*")
                ? String.join(", ", routes.all().keySet())
                : String.join(", ", caller.allowedModels());
    }

    private static void validateChat(ObjectNode request) {
        JsonNode messages = request.path("messages");
        if (!messages.isArray() || messages.isEmpty()) {
            throw OpenAiError.invalid(
                    "messages", "messages must be a non-empty array of {role, content}");
        }
        for (int i = 0; i < messages.size(); i++) {
            String role = messages.get(i).path("role").asText("");
            if (!ROLES.contains(role)) {
                throw OpenAiError.invalid(
                        "messages[" + i + "].role",
                        "messages["
                                + i
                                + "].role must be one of "
                                + new java.util.TreeSet<>(ROLES)
                                + ", was '"
                                + role
                                + "'");
            }
        }
        for (String field : new String[] {"max_tokens", "max_completion_tokens"}) {
            if (request.has(field)
                    && !request.get(field).isNull()
                    && (!request.get(field).canConvertToInt() || request.get(field).asInt() < 1)) {
                throw OpenAiError.invalid(field, field + " must be a positive integer");
            }
        }
        if (request.has("n") && !request.get("n").isNull() && request.get("n").asInt(0) != 1) {
            // one reservation covers one completion: several would spend n times what was held
            throw OpenAiError.invalid(
                    "n",
                    "n must be 1: the gateway reserves budget for one completion per request; send n requests instead");
        }
        if (request.has("stream") && !request.get("stream").isBoolean()) {
            throw OpenAiError.invalid("stream", "stream must be true or false");
        }
    }
}
