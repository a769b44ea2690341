package io.flotilla.gateway.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;

/**
 * The OpenAI objects every translating provider builds: stream chunks, usage, copied parameters.
 */
public final class OpenAiShapes {

    private static final JsonNodeFactory F = JsonNodeFactory.instance;

    /**
     * The chat completion fields the gateway accepts and forwards upstream: anything else (e.g.
     * {@code service_tier}, {@code store}, {@code audio}, which change what a call costs or keep
     * prompts at the provider) is refused, so what a request may spend is what the gateway reserved
     * for.
     */
    public static final java.util.Set<String> CHAT_FIELDS =
            java.util.Set.of(
                    "model",
                    "messages",
                    "max_tokens",
                    "max_completion_tokens",
                    "temperature",
                    "top_p",
                    "n",
                    "stop",
                    "presence_penalty",
                    "frequency_penalty",
                    "logit_bias",
                    "logprobs",
                    "top_logprobs",
                    "user",
                    "response_format",
                    "seed",
                    "tools",
                    "tool_choice",
                    "parallel_tool_calls",
                    "stream",
                    "stream_options",
                    "reasoning_effort");

    /** The embeddings fields the gateway accepts and forwards. */
    public static final java.util.Set<String> EMBEDDING_FIELDS =
            java.util.Set.of("model", "input", "encoding_format", "dimensions", "user");

    /** The request's fields on the allow-list, as a new object (what goes upstream). */
    public static ObjectNode allowed(ObjectNode request, java.util.Set<String> fields) {
        ObjectNode out = F.objectNode();
        request.fields()
                .forEachRemaining(
                        f -> {
                            if (fields.contains(f.getKey())) {
                                out.set(f.getKey(), f.getValue().deepCopy());
                            }
                        });
        return out;
    }

    private OpenAiShapes() {}

    /**
     * A {@code chat.completion.chunk} with one choice carrying {@code delta} (null: no choices
     * yet).
     */
    public static ObjectNode chunk(String id, String model, ObjectNode delta, String finishReason) {
        ObjectNode c =
                F.objectNode()
                        .put("id", id)
                        .put("object", "chat.completion.chunk")
                        .put("created", Instant.now().getEpochSecond())
                        .put("model", model);
        if (delta != null) {
            ObjectNode choice = c.putArray("choices").addObject().put("index", 0);
            choice.set("delta", delta);
            if (finishReason == null) {
                choice.putNull("finish_reason");
            } else {
                choice.put("finish_reason", finishReason);
            }
        }
        return c;
    }

    /** The final chunk of a stream that reports usage: no choices, only {@code usage}. */
    public static ObjectNode usageChunk(String id, String model, ObjectNode usage) {
        ObjectNode c = chunk(id, model, null, null);
        c.putArray("choices");
        c.set("usage", usage);
        return c;
    }

    public static ObjectNode usage(long in, long out) {
        return F.objectNode()
                .put("prompt_tokens", in)
                .put("completion_tokens", out)
                .put("total_tokens", in + out);
    }

    /** The text of a message's content: a string, or the text parts of a content array. */
    public static String text(JsonNode content) {
        if (content.isTextual()) {
            return content.asText();
        }
        StringBuilder s = new StringBuilder();
        content.forEach(p -> s.append(p.path("text").asText("")));
        return s.toString();
    }

    /** Copies a request parameter under the provider's name, when it is set. */
    public static void copy(JsonNode from, ObjectNode to, String field, String as) {
        if (from.has(field) && !from.get(field).isNull()) {
            to.set(as, from.get(field));
        }
    }
}
