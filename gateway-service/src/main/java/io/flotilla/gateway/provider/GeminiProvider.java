package io.flotilla.gateway.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.gateway.openai.OpenAiShapes;
import io.flotilla.gateway.openai.Sse;
import io.flotilla.gateway.route.Target;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Google Gemini's {@code generateContent} and {@code streamGenerateContent} (SSE), translated both
 * ways: messages become contents (assistant → model), system messages the system instruction, tools
 * function declarations, tool results function responses; candidates become choices.
 */
@Singleton
public final class GeminiProvider implements Provider {

    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    private final Upstream upstream;

    GeminiProvider(Upstream upstream) {
        this.upstream = upstream;
    }

    @Override
    public Uni<ObjectNode> complete(Target target, ObjectNode request) {
        String url = target.baseUrl() + "/models/" + target.model() + ":generateContent";
        String id = "chatcmpl-gemini-" + UUID.randomUUID();
        return upstream.post(url, headers(target), translate(request), target.timeout())
                .map(
                        response -> {
                            ObjectNode out =
                                    F.objectNode()
                                            .put("id", id)
                                            .put("object", "chat.completion")
                                            .put("created", Instant.now().getEpochSecond())
                                            .put("model", target.model());
                            ObjectNode choice = out.putArray("choices").addObject().put("index", 0);
                            Parsed parsed = parse(response, 0);
                            ObjectNode message =
                                    choice.putObject("message").put("role", "assistant");
                            if (parsed.text.isEmpty()) {
                                message.putNull("content");
                            } else {
                                message.put("content", parsed.text);
                            }
                            if (!parsed.calls.isEmpty()) {
                                message.set("tool_calls", parsed.calls);
                            }
                            choice.put(
                                    "finish_reason",
                                    parsed.finish == null ? "stop" : parsed.finish);
                            out.set("usage", usage(response));
                            return out;
                        });
    }

    @Override
    public Uni<Multi<ObjectNode>> stream(Target target, ObjectNode request) {
        String url =
                target.baseUrl() + "/models/" + target.model() + ":streamGenerateContent?alt=sse";
        return upstream.stream(url, headers(target), translate(request), target.timeout())
                .map(events -> ChunkStream.of(events, () -> new StreamTranslator(target.model())));
    }

    private static Map<String, String> headers(Target target) {
        return target.apiKey() == null ? Map.of() : Map.of("x-goog-api-key", target.apiKey());
    }

    /** OpenAI chat request → GenerateContentRequest. */
    ObjectNode translate(ObjectNode request) {
        ObjectNode out = F.objectNode();
        StringBuilder system = new StringBuilder();
        contents(request.path("messages"), out.putArray("contents"), system);
        if (system.length() > 0) {
            out.putObject("systemInstruction")
                    .putArray("parts")
                    .addObject()
                    .put("text", system.toString());
        }
        ObjectNode generation = generation(request);
        if (!generation.isEmpty()) {
            out.set("generationConfig", generation);
        }
        tools(request, out);
        return out;
    }

    /**
     * OpenAI messages → contents; system and developer messages are gathered into {@code system}
     * (Gemini's systemInstruction), tool results named after the call they answer.
     */
    private void contents(JsonNode messages, ArrayNode contents, StringBuilder system) {
        Map<String, String> toolNames = new HashMap<>();
        for (JsonNode m : messages) {
            switch (m.path("role").asText()) {
                case "system", "developer" ->
                        system.append(system.length() > 0 ? "\n\n" : "")
                                .append(OpenAiShapes.text(m.path("content")));
                case "assistant" -> {
                    ArrayNode parts = contents.addObject().put("role", "model").putArray("parts");
                    String text = OpenAiShapes.text(m.path("content"));
                    if (!text.isEmpty()) {
                        parts.addObject().put("text", text);
                    }
                    for (JsonNode call : m.path("tool_calls")) {
                        String name = call.path("function").path("name").asText();
                        toolNames.put(call.path("id").asText(), name);
                        parts.addObject()
                                .putObject("functionCall")
                                .put("name", name)
                                .set(
                                        "args",
                                        AnthropicProvider.parseArguments(
                                                upstream.json(),
                                                call.path("function")
                                                        .path("arguments")
                                                        .asText("{}")));
                    }
                }
                case "tool" -> {
                    String name =
                            toolNames.getOrDefault(
                                    m.path("tool_call_id").asText(), m.path("name").asText("tool"));
                    contents.addObject()
                            .put("role", "user")
                            .putArray("parts")
                            .addObject()
                            .putObject("functionResponse")
                            .put("name", name)
                            .putObject("response")
                            .put("content", OpenAiShapes.text(m.path("content")));
                }
                default ->
                        contents.addObject()
                                .put("role", "user")
                                .putArray("parts")
                                .addObject()
                                .put("text", OpenAiShapes.text(m.path("content")));
            }
        }
    }

    /** Sampling options, token limit, stop sequences and JSON mode → generationConfig. */
    private static ObjectNode generation(JsonNode request) {
        ObjectNode generation = F.objectNode();
        OpenAiShapes.copy(request, generation, "temperature", "temperature");
        OpenAiShapes.copy(request, generation, "top_p", "topP");
        OpenAiShapes.copy(request, generation, "max_tokens", "maxOutputTokens");
        OpenAiShapes.copy(request, generation, "max_completion_tokens", "maxOutputTokens");
        if (request.has("stop")) {
            ArrayNode stops = generation.putArray("stopSequences");
            if (request.get("stop").isArray()) {
                request.get("stop").forEach(stops::add);
            } else {
                stops.add(request.get("stop").asText());
            }
        }
        JsonNode format = request.path("response_format");
        if (format.path("type").asText().startsWith("json")) {
            generation.put("responseMimeType", "application/json");
            if (format.path("json_schema").has("schema")) {
                generation.set("responseSchema", format.path("json_schema").path("schema"));
            }
        }
        return generation;
    }

    /** Function tools → functionDeclarations; the tool choice → functionCallingConfig. */
    private static void tools(JsonNode request, ObjectNode out) {
        if (request.path("tools").isEmpty()) {
            return;
        }
        ArrayNode declarations = out.putArray("tools").addObject().putArray("functionDeclarations");
        for (JsonNode t : request.path("tools")) {
            JsonNode fn = t.path("function");
            ObjectNode d = declarations.addObject().put("name", fn.path("name").asText());
            if (fn.has("description")) {
                d.put("description", fn.path("description").asText());
            }
            if (fn.has("parameters")) {
                d.set("parameters", fn.get("parameters"));
            }
        }
        JsonNode choice = request.path("tool_choice");
        String mode =
                choice.isObject() || choice.asText().equals("required")
                        ? "ANY"
                        : choice.asText().equals("none") ? "NONE" : "AUTO";
        ObjectNode calling =
                out.putObject("toolConfig").putObject("functionCallingConfig").put("mode", mode);
        if (choice.isObject()) {
            calling.putArray("allowedFunctionNames")
                    .add(choice.path("function").path("name").asText());
        }
    }

    private record Parsed(String text, ArrayNode calls, String finish) {}

    private static Parsed parse(JsonNode response, int callOffset) {
        JsonNode candidate = response.path("candidates").path(0);
        StringBuilder text = new StringBuilder();
        ArrayNode calls = F.arrayNode();
        for (JsonNode part : candidate.path("content").path("parts")) {
            if (part.has("text")) {
                text.append(part.path("text").asText());
            }
            if (part.has("functionCall")) {
                ObjectNode call =
                        calls.addObject()
                                .put("id", "call_" + (callOffset + calls.size()))
                                .put("type", "function");
                call.putObject("function")
                        .put("name", part.path("functionCall").path("name").asText())
                        .put("arguments", part.path("functionCall").path("args").toString());
            }
        }
        String finish =
                candidate.has("finishReason")
                        ? switch (candidate.path("finishReason").asText()) {
                            case "MAX_TOKENS" -> "length";
                            case "SAFETY",
                                    "RECITATION",
                                    "BLOCKLIST",
                                    "PROHIBITED_CONTENT",
                                    "SPII" ->
                                    "content_filter";
                            default -> calls.isEmpty() ? "stop" : "tool_calls";
                        }
                        : null;
        if (response.has("promptFeedback")
                && response.path("promptFeedback").has("blockReason")
                && candidate.isMissingNode()) {
            finish = "content_filter";
        }
        return new Parsed(text.toString(), calls, finish);
    }

    private static ObjectNode usage(JsonNode response) {
        JsonNode u = response.path("usageMetadata");
        ObjectNode usage =
                OpenAiShapes.usage(
                        u.path("promptTokenCount").asInt(),
                        u.path("candidatesTokenCount").asInt()
                                + u.path("thoughtsTokenCount").asInt());
        if (u.path("cachedContentTokenCount").asInt() > 0) {
            usage.putObject("prompt_tokens_details")
                    .put("cached_tokens", u.path("cachedContentTokenCount").asInt());
        }
        return usage;
    }

    /**
     * Each SSE event is a whole GenerateContentResponse; the one with a finishReason ends the
     * stream.
     */
    private final class StreamTranslator implements ChunkStream.Translator {
        private final String id = "chatcmpl-gemini-" + UUID.randomUUID();
        private final String model;
        private boolean first = true;
        private boolean done;
        private int calls;

        StreamTranslator(String model) {
            this.model = model;
        }

        @Override
        public List<ObjectNode> onEvent(Sse.Event event) {
            JsonNode response;
            try {
                response = upstream.json().readTree(event.data());
            } catch (IOException e) {
                throw new UpstreamFailure(
                        UpstreamFailure.Kind.SERVER_ERROR, "Gemini sent an event that is not JSON");
            }
            if (response.has("error")) {
                throw upstream.failure(
                        response.path("error").path("code").asInt(500), event.data(), null, null);
            }
            Parsed parsed = parse(response, calls);
            calls += parsed.calls.size();
            List<ObjectNode> out = new java.util.ArrayList<>();
            ObjectNode delta = F.objectNode();
            if (first) {
                delta.put("role", "assistant");
                first = false;
            }
            if (!parsed.text.isEmpty()) {
                delta.put("content", parsed.text);
            }
            if (!parsed.calls.isEmpty()) {
                for (int i = 0; i < parsed.calls.size(); i++) {
                    ((ObjectNode) parsed.calls.get(i))
                            .put("index", calls - parsed.calls.size() + i);
                }
                delta.set("tool_calls", parsed.calls);
            }
            out.add(OpenAiShapes.chunk(id, model, delta, null));
            if (parsed.finish != null) {
                done = true;
                out.add(OpenAiShapes.chunk(id, model, F.objectNode(), parsed.finish));
                if (response.has("usageMetadata")) {
                    out.add(OpenAiShapes.usageChunk(id, model, usage(response)));
                }
            }
            return out;
        }

        @Override
        public boolean finished() {
            return done;
        }
    }
}
