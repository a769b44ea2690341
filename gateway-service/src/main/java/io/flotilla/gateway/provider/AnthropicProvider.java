package io.flotilla.gateway.provider;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Anthropic's Messages API, translated both ways: OpenAI messages (system, user, assistant with
 * tool calls, tool results) and tools become Messages blocks; answers, stream events ({@code
 * message_start} ... {@code message_stop}) and usage become OpenAI's.
 */
@Singleton
public final class AnthropicProvider implements Provider {

    static final String VERSION = "2023-06-01";
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final int DEFAULT_MAX_TOKENS = 4096;

    private final Upstream upstream;

    AnthropicProvider(Upstream upstream) {
        this.upstream = upstream;
    }

    @Override
    public Uni<ObjectNode> complete(Target target, ObjectNode request) {
        return upstream.post(
                        target.baseUrl() + "/v1/messages",
                        headers(target),
                        translate(target, request, false),
                        target.timeout())
                .map(message -> toCompletion(message));
    }

    @Override
    public Uni<Multi<ObjectNode>> stream(Target target, ObjectNode request) {
        return upstream.stream(
                        target.baseUrl() + "/v1/messages",
                        headers(target),
                        translate(target, request, true),
                        target.timeout())
                .map(events -> ChunkStream.of(events, StreamTranslator::new));
    }

    private static Map<String, String> headers(Target target) {
        return target.apiKey() == null
                ? Map.of("anthropic-version", VERSION)
                : Map.of("anthropic-version", VERSION, "x-api-key", target.apiKey());
    }

    /** OpenAI chat request → Messages request. */
    ObjectNode translate(Target target, ObjectNode request, boolean stream) {
        ObjectNode out = F.objectNode().put("model", target.model());
        out.put(
                "max_tokens",
                request.path("max_completion_tokens")
                        .asInt(request.path("max_tokens").asInt(DEFAULT_MAX_TOKENS)));
        StringBuilder system = new StringBuilder();
        messages(request.path("messages"), out.putArray("messages"), system);
        askForJson(request.path("response_format"), system);
        if (system.length() > 0) {
            out.put("system", system.toString());
        }
        options(request, out);
        tools(request, out);
        if (stream) {
            out.put("stream", true);
        }
        return out;
    }

    /**
     * OpenAI messages → Messages turns; system and developer messages are gathered into {@code
     * system}, which Messages takes apart from the turns.
     */
    private void messages(JsonNode in, ArrayNode messages, StringBuilder system) {
        for (JsonNode m : in) {
            switch (m.path("role").asText()) {
                case "system", "developer" ->
                        system.append(system.length() > 0 ? "\n\n" : "")
                                .append(OpenAiShapes.text(m.path("content")));
                case "tool" -> toolResult(m, messages);
                case "assistant" -> assistant(m, messages);
                default ->
                        messages.addObject()
                                .put("role", "user")
                                .set("content", userContent(m.path("content")));
            }
        }
    }

    /** A tool message → a tool_result block; consecutive results share one user turn. */
    private static void toolResult(JsonNode m, ArrayNode messages) {
        ObjectNode result =
                F.objectNode()
                        .put("type", "tool_result")
                        .put("tool_use_id", m.path("tool_call_id").asText())
                        .put("content", OpenAiShapes.text(m.path("content")));
        JsonNode last = messages.isEmpty() ? null : messages.get(messages.size() - 1);
        if (last != null
                && last.path("role").asText().equals("user")
                && last.path("content").path(0).path("type").asText().equals("tool_result")) {
            ((ArrayNode) last.get("content")).add(result);
        } else {
            messages.addObject().put("role", "user").putArray("content").add(result);
        }
    }

    /** An assistant message → text and tool_use blocks. */
    private void assistant(JsonNode m, ArrayNode messages) {
        ArrayNode blocks = F.arrayNode();
        String content = OpenAiShapes.text(m.path("content"));
        if (!content.isEmpty()) {
            blocks.addObject().put("type", "text").put("text", content);
        }
        for (JsonNode call : m.path("tool_calls")) {
            blocks.addObject()
                    .put("type", "tool_use")
                    .put("id", call.path("id").asText())
                    .put("name", call.path("function").path("name").asText())
                    .set(
                            "input",
                            parseArguments(
                                    upstream.json(),
                                    call.path("function").path("arguments").asText("{}")));
        }
        messages.addObject().put("role", "assistant").set("content", blocks);
    }

    /** Messages has no JSON mode: it is asked for in the system prompt, with the schema if any. */
    private static void askForJson(JsonNode format, StringBuilder system) {
        if (format.path("type").asText().startsWith("json")) {
            system.append(system.length() > 0 ? "\n\n" : "")
                    .append("Answer with a single JSON object and nothing else.");
            if (format.has("json_schema")) {
                system.append(" It must match this JSON schema: ")
                        .append(format.path("json_schema").path("schema"));
            }
        }
    }

    /** Sampling options: temperature, top_p, stop sequences. */
    private static void options(JsonNode request, ObjectNode out) {
        OpenAiShapes.copy(request, out, "temperature", "temperature");
        OpenAiShapes.copy(request, out, "top_p", "top_p");
        if (request.has("stop")) {
            ArrayNode stops = out.putArray("stop_sequences");
            if (request.get("stop").isArray()) {
                request.get("stop").forEach(stops::add);
            } else {
                stops.add(request.get("stop").asText());
            }
        }
    }

    /** Function tools and the tool choice. */
    private static void tools(JsonNode request, ObjectNode out) {
        if (request.path("tools").isEmpty()) {
            return;
        }
        ArrayNode tools = out.putArray("tools");
        for (JsonNode t : request.path("tools")) {
            JsonNode fn = t.path("function");
            ObjectNode tool = tools.addObject().put("name", fn.path("name").asText());
            if (fn.has("description")) {
                tool.put("description", fn.path("description").asText());
            }
            tool.set(
                    "input_schema",
                    fn.has("parameters")
                            ? fn.get("parameters")
                            : F.objectNode().put("type", "object"));
        }
        JsonNode choice = request.path("tool_choice");
        if (choice.isTextual()) {
            String type =
                    switch (choice.asText()) {
                        case "required" -> "any";
                        case "none" -> "none";
                        default -> "auto";
                    };
            out.putObject("tool_choice").put("type", type);
        } else if (choice.isObject()) {
            out.putObject("tool_choice")
                    .put("type", "tool")
                    .put("name", choice.path("function").path("name").asText());
        }
    }

    /** Messages answer → OpenAI chat completion. */
    static ObjectNode toCompletion(JsonNode message) {
        StringBuilder text = new StringBuilder();
        ArrayNode calls = F.arrayNode();
        for (JsonNode block : message.path("content")) {
            switch (block.path("type").asText()) {
                case "text" -> text.append(block.path("text").asText());
                case "tool_use" -> {
                    ObjectNode call =
                            calls.addObject()
                                    .put("id", block.path("id").asText())
                                    .put("type", "function");
                    call.putObject("function")
                            .put("name", block.path("name").asText())
                            .put("arguments", block.path("input").toString());
                }
                default -> {}
            }
        }
        ObjectNode msg = F.objectNode().put("role", "assistant");
        if (text.length() > 0) {
            msg.put("content", text.toString());
        } else {
            msg.putNull("content");
        }
        if (!calls.isEmpty()) {
            msg.set("tool_calls", calls);
        }
        ObjectNode out =
                F.objectNode()
                        .put("id", message.path("id").asText())
                        .put("object", "chat.completion")
                        .put("created", Instant.now().getEpochSecond())
                        .put("model", message.path("model").asText());
        out.putArray("choices")
                .addObject()
                .put("index", 0)
                .<ObjectNode>set("message", msg)
                .put("finish_reason", finishReason(message.path("stop_reason").asText()));
        out.set(
                "usage",
                usage(message.path("usage"), message.path("usage").path("output_tokens").asInt()));
        return out;
    }

    static String finishReason(String stopReason) {
        return switch (stopReason) {
            case "max_tokens" -> "length";
            case "tool_use" -> "tool_calls";
            case "refusal" -> "content_filter";
            default -> "stop";
        };
    }

    /** Stream events → OpenAI chunks; tool-use blocks become indexed tool_call deltas. */
    private final class StreamTranslator implements ChunkStream.Translator {
        private String id = "msg";
        private String model = "";
        private JsonNode startUsage = F.objectNode();
        private int outputTokens;
        private boolean done;
        private final java.util.Map<Integer, Integer> toolIndex = new java.util.HashMap<>();

        @Override
        public List<ObjectNode> onEvent(Sse.Event event) {
            JsonNode data;
            try {
                data = upstream.json().readTree(event.data());
            } catch (IOException e) {
                throw new UpstreamFailure(
                        UpstreamFailure.Kind.SERVER_ERROR,
                        "Anthropic sent an event that is not JSON");
            }
            List<ObjectNode> out = new ArrayList<>();
            switch (data.path("type").asText()) {
                case "message_start" -> {
                    JsonNode m = data.path("message");
                    id = m.path("id").asText(id);
                    model = m.path("model").asText(model);
                    startUsage = m.path("usage");
                    outputTokens = m.path("usage").path("output_tokens").asInt();
                    out.add(
                            OpenAiShapes.chunk(
                                    id,
                                    model,
                                    F.objectNode().put("role", "assistant").put("content", ""),
                                    null));
                }
                case "content_block_start" -> {
                    JsonNode block = data.path("content_block");
                    if (block.path("type").asText().equals("tool_use")) {
                        int index = toolIndex.size();
                        toolIndex.put(data.path("index").asInt(), index);
                        ObjectNode call =
                                F.objectNode()
                                        .put("index", index)
                                        .put("id", block.path("id").asText())
                                        .put("type", "function");
                        call.putObject("function")
                                .put("name", block.path("name").asText())
                                .put("arguments", "");
                        out.add(
                                OpenAiShapes.chunk(
                                        id,
                                        model,
                                        F.objectNode().set("tool_calls", F.arrayNode().add(call)),
                                        null));
                    }
                }
                case "content_block_delta" -> {
                    JsonNode delta = data.path("delta");
                    if (delta.path("type").asText().equals("text_delta")) {
                        out.add(
                                OpenAiShapes.chunk(
                                        id,
                                        model,
                                        F.objectNode().put("content", delta.path("text").asText()),
                                        null));
                    } else if (delta.path("type").asText().equals("input_json_delta")) {
                        ObjectNode call =
                                F.objectNode()
                                        .put(
                                                "index",
                                                toolIndex.getOrDefault(
                                                        data.path("index").asInt(), 0));
                        call.putObject("function")
                                .put("arguments", delta.path("partial_json").asText());
                        out.add(
                                OpenAiShapes.chunk(
                                        id,
                                        model,
                                        F.objectNode().set("tool_calls", F.arrayNode().add(call)),
                                        null));
                    }
                }
                case "message_delta" -> {
                    outputTokens = data.path("usage").path("output_tokens").asInt(outputTokens);
                    out.add(
                            OpenAiShapes.chunk(
                                    id,
                                    model,
                                    F.objectNode(),
                                    finishReason(data.path("delta").path("stop_reason").asText())));
                }
                case "message_stop" -> {
                    done = true;
                    out.add(OpenAiShapes.usageChunk(id, model, usage(startUsage, outputTokens)));
                }
                case "error" -> {
                    String type = data.path("error").path("type").asText();
                    throw new UpstreamFailure(
                            type.equals("overloaded_error") || type.equals("api_error")
                                    ? UpstreamFailure.Kind.SERVER_ERROR
                                    : UpstreamFailure.Kind.REJECTED,
                            0,
                            null,
                            "Anthropic reported "
                                    + type
                                    + " mid-stream: "
                                    + data.path("error").path("message").asText());
                }
                default -> {} // ping, content_block_stop
            }
            return out;
        }

        @Override
        public boolean finished() {
            return done;
        }
    }

    /** Messages usage → OpenAI usage; cache reads count as prompt tokens and as cached ones. */
    static ObjectNode usage(JsonNode u, int outputTokens) {
        int cacheRead = u.path("cache_read_input_tokens").asInt();
        ObjectNode usage =
                OpenAiShapes.usage(
                        u.path("input_tokens").asInt()
                                + cacheRead
                                + u.path("cache_creation_input_tokens").asInt(),
                        outputTokens);
        if (cacheRead > 0) {
            usage.putObject("prompt_tokens_details").put("cached_tokens", cacheRead);
        }
        return usage;
    }

    private static JsonNode userContent(JsonNode content) {
        if (!content.isArray()) {
            return F.textNode(content.asText(""));
        }
        ArrayNode blocks = F.arrayNode();
        for (JsonNode part : content) {
            String type = part.path("type").asText();
            if (type.equals("text")) {
                blocks.addObject().put("type", "text").put("text", part.path("text").asText());
            } else if (type.equals("image_url")) {
                String url = part.path("image_url").path("url").asText();
                ObjectNode image = blocks.addObject().put("type", "image");
                if (url.startsWith("data:")) {
                    int comma = url.indexOf(',');
                    image.putObject("source")
                            .put("type", "base64")
                            .put("media_type", url.substring(5, url.indexOf(';')))
                            .put("data", url.substring(comma + 1));
                } else {
                    image.putObject("source").put("type", "url").put("url", url);
                }
            } else {
                throw new UpstreamFailure(
                        UpstreamFailure.Kind.REJECTED,
                        400,
                        null,
                        "content part type '"
                                + type
                                + "' cannot be sent to Anthropic; use text or image_url");
            }
        }
        return blocks;
    }

    /** A tool call's arguments (a JSON string in OpenAI's format) as the object they encode. */
    static JsonNode parseArguments(ObjectMapper mapper, String json) {
        try {
            JsonNode node = mapper.readTree(json.isBlank() ? "{}" : json);
            return node.isObject() ? node : F.objectNode();
        } catch (IOException e) {
            throw new UpstreamFailure(
                    UpstreamFailure.Kind.REJECTED,
                    400,
                    null,
                    "tool call arguments are not valid JSON");
        }
    }
}
