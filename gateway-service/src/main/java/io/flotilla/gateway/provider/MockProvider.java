package io.flotilla.gateway.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.common.tokens.TokenEstimator;
import io.flotilla.gateway.openai.OpenAiShapes;
import io.flotilla.gateway.route.Target;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The built-in offline provider, for the local demo and load tests: a deterministic answer (the
 * same prompt always gets the same text), realistic {@code usage} counted with the real tokenizer,
 * JSON that fits the requested schema when structured output is asked for, a call of the first (or
 * the chosen) tool when tools are offered and no tool result is in the conversation yet (or the
 * tool choice requires one), with arguments that fit the tool's parameters, and an optional latency
 * per provider. Its models are labelled {@code mock} in /v1/models.
 */
@Singleton
public final class MockProvider implements Provider {

    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final String[] WORDS =
            ("the fleet of agents carries each task through clear steps while budgets hold and "
                            + "every answer stays short useful and grounded in what the prompt asked for")
                    .split(" ");

    @Override
    public Uni<ObjectNode> complete(Target target, ObjectNode request) {
        Answer answer = answer(request);
        ObjectNode message = F.objectNode().put("role", "assistant");
        if (answer.toolCall != null) {
            message.putNull("content");
            message.putArray("tool_calls").add(answer.toolCall);
        } else {
            message.put("content", answer.text);
        }
        ObjectNode completion =
                F.objectNode()
                        .put("id", "chatcmpl-mock-" + Integer.toHexString(answer.seed))
                        .put("object", "chat.completion")
                        .put("created", Instant.now().getEpochSecond())
                        .put("model", target.model())
                        .put("system_fingerprint", "flotilla-mock");
        completion
                .putArray("choices")
                .addObject()
                .put("index", 0)
                .<ObjectNode>set("message", message)
                .put("finish_reason", answer.finishReason)
                .putNull("logprobs");
        completion.set("usage", usage(answer));
        return delayed(Uni.createFrom().item(completion), target.mockLatency());
    }

    @Override
    public Uni<Multi<ObjectNode>> stream(Target target, ObjectNode request) {
        Answer answer = answer(request);
        String id = "chatcmpl-mock-" + Integer.toHexString(answer.seed);
        long created = Instant.now().getEpochSecond();
        List<ObjectNode> chunks = new ArrayList<>();
        chunks.add(
                OpenAiShapes.chunk(
                        id,
                        target.model(),
                        F.objectNode().put("role", "assistant").put("content", ""),
                        null));
        if (answer.toolCall != null) {
            chunks.add(
                    OpenAiShapes.chunk(
                            id,
                            target.model(),
                            F.objectNode()
                                    .set(
                                            "tool_calls",
                                            F.arrayNode()
                                                    .add(
                                                            answer.toolCall
                                                                    .deepCopy()
                                                                    .put("index", 0))),
                            null));
        } else {
            String[] pieces = answer.text.split("(?<= )");
            for (String piece : pieces) {
                chunks.add(
                        OpenAiShapes.chunk(
                                id, target.model(), F.objectNode().put("content", piece), null));
            }
        }
        chunks.add(OpenAiShapes.chunk(id, target.model(), F.objectNode(), answer.finishReason));
        chunks.add(OpenAiShapes.usageChunk(id, target.model(), usage(answer)));
        return delayed(
                Uni.createFrom().item(Multi.createFrom().iterable(chunks)), target.mockLatency());
    }

    @Override
    public Uni<ObjectNode> embed(Target target, ObjectNode request) {
        JsonNode input = request.path("input");
        List<String> texts = new ArrayList<>();
        if (input.isArray()) {
            input.forEach(i -> texts.add(i.asText()));
        } else {
            texts.add(input.asText());
        }
        int dims = request.path("dimensions").asInt(16);
        ObjectNode out = F.objectNode().put("object", "list").put("model", target.model());
        ArrayNode data = out.putArray("data");
        int tokens = 0;
        for (int i = 0; i < texts.size(); i++) {
            tokens += TokenEstimator.count(texts.get(i));
            ArrayNode vector = F.arrayNode();
            java.util.Random random = new java.util.Random(texts.get(i).hashCode());
            double[] v = new double[dims];
            double norm = 0;
            for (int d = 0; d < dims; d++) {
                v[d] = random.nextGaussian();
                norm += v[d] * v[d];
            }
            for (double x : v) {
                vector.add(x / Math.sqrt(norm));
            }
            data.addObject().put("object", "embedding").put("index", i).set("embedding", vector);
        }
        out.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens);
        return delayed(Uni.createFrom().item(out), target.mockLatency());
    }

    private record Answer(
            int seed,
            String text,
            ObjectNode toolCall,
            String finishReason,
            int promptTokens,
            int completionTokens) {}

    private static Answer answer(ObjectNode request) {
        int promptTokens = TokenEstimator.promptTokens(request);
        String prompt = TokenEstimator.promptText(request);
        int seed = prompt.hashCode();
        int maxTokens =
                request.path("max_completion_tokens")
                        .asInt(request.path("max_tokens").asInt(Integer.MAX_VALUE));
        JsonNode choice = request.path("tool_choice");
        boolean answered = false;
        for (JsonNode m : request.path("messages")) {
            answered |= m.path("role").asText().equals("tool");
        }
        boolean auto = choice.isMissingNode() || choice.asText().equals("auto");
        if (request.path("tools").size() > 0
                && (choice.asText().equals("required")
                        || choice.isObject()
                        || (auto && !answered))) {
            JsonNode fn =
                    choice.isObject()
                            ? choice.path("function")
                            : request.path("tools").get(0).path("function");
            ObjectNode call =
                    F.objectNode()
                            .put("id", "call_mock_" + Integer.toHexString(seed))
                            .put("type", "function");
            JsonNode parameters = F.missingNode();
            for (JsonNode t : request.path("tools")) {
                if (t.path("function").path("name").asText().equals(fn.path("name").asText())) {
                    parameters = t.path("function").path("parameters");
                }
            }
            call.putObject("function")
                    .put("name", fn.path("name").asText())
                    .put(
                            "arguments",
                            parameters.isObject() ? sample(parameters, seed).toString() : "{}");
            return new Answer(
                    seed,
                    null,
                    call,
                    "tool_calls",
                    promptTokens,
                    TokenEstimator.count(call.toString()));
        }
        JsonNode format = request.path("response_format");
        String text;
        if (format.path("type").asText().equals("json_schema")) {
            text = sample(format.path("json_schema").path("schema"), seed).toString();
        } else if (format.path("type").asText().equals("json_object")) {
            text = F.objectNode().put("result", sentence(seed, 12)).toString();
        } else {
            text = "[mock] " + sentence(seed, 12 + Math.floorMod(seed, 24));
        }
        int completion = TokenEstimator.count(text);
        String finish = "stop";
        if (completion > maxTokens) {
            List<String> words = new ArrayList<>(Arrays.asList(text.split(" ")));
            while (words.size() > 1 && TokenEstimator.count(String.join(" ", words)) > maxTokens) {
                words.remove(words.size() - 1);
            }
            text = String.join(" ", words);
            completion = TokenEstimator.count(text);
            finish = "length";
        }
        return new Answer(seed, text, null, finish, promptTokens, completion);
    }

    /** A value that satisfies a JSON schema's types and required properties. */
    private static JsonNode sample(JsonNode schema, int seed) {
        String type = schema.path("type").asText(schema.has("properties") ? "object" : "string");
        return switch (type) {
            case "object" -> {
                ObjectNode o = F.objectNode();
                schema.path("properties")
                        .fields()
                        .forEachRemaining(
                                e ->
                                        o.set(
                                                e.getKey(),
                                                sample(
                                                        e.getValue(),
                                                        seed + e.getKey().hashCode())));
                yield o;
            }
            case "array" ->
                    F.arrayNode()
                            .add(sample(schema.path("items"), seed + 1))
                            .add(sample(schema.path("items"), seed + 2));
            case "integer" -> F.numberNode(Math.floorMod(seed, 10) + 1);
            case "number" -> F.numberNode(Math.floorMod(seed, 100) / 10.0);
            case "boolean" -> F.booleanNode(true);
            default ->
                    schema.has("enum") ? schema.path("enum").get(0) : F.textNode(sentence(seed, 4));
        };
    }

    private static String sentence(int seed, int words) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < words; i++) {
            s.append(i == 0 ? "" : " ")
                    .append(WORDS[Math.floorMod(seed * 31 + i * 17, WORDS.length)]);
        }
        return s.toString();
    }

    private static ObjectNode usage(Answer a) {
        return OpenAiShapes.usage(a.promptTokens, a.completionTokens);
    }

    private static <T> Uni<T> delayed(Uni<T> uni, Duration latency) {
        return latency == null || latency.isZero() ? uni : uni.onItem().delayIt().by(latency);
    }
}
