package io.flotilla.gateway.fake;

import static io.flotilla.gateway.fake.FakeUpstream.USAGE_IN;
import static io.flotilla.gateway.fake.FakeUpstream.USAGE_OUT;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingType;
import com.knuddels.jtokkit.api.IntArrayList;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** Answers in each provider's documented wire format, as the fake upstream sends them. */
final class FakeFormats {

    private FakeFormats() {}

    static JsonObject openAiCompletion(String model, String text, boolean tools) {
        JsonObject message = new JsonObject().put("role", "assistant");
        if (tools) {
            message.putNull("content")
                    .put(
                            "tool_calls",
                            new JsonArray()
                                    .add(
                                            new JsonObject()
                                                    .put("id", "call_1")
                                                    .put("type", "function")
                                                    .put(
                                                            "function",
                                                            new JsonObject()
                                                                    .put("name", "search")
                                                                    .put(
                                                                            "arguments",
                                                                            "{\"q\":\"x\"}"))));
        } else {
            message.put("content", text);
        }
        return new JsonObject()
                .put("id", "chatcmpl-fake")
                .put("object", "chat.completion")
                .put("created", 1_700_000_000)
                .put("model", model)
                .put(
                        "choices",
                        new JsonArray()
                                .add(
                                        new JsonObject()
                                                .put("index", 0)
                                                .put("message", message)
                                                .put("logprobs", (Object) null)
                                                .put(
                                                        "finish_reason",
                                                        tools ? "tool_calls" : "stop")))
                .put("usage", usage());
    }

    static List<String> openAiEvents(
            String model, String text, boolean tools, boolean includeUsage) {
        List<String> events = new ArrayList<>();
        events.add(
                openAiChunk(
                        model, new JsonObject().put("role", "assistant").put("content", ""), null));
        if (tools) {
            events.add(
                    openAiChunk(
                            model,
                            new JsonObject()
                                    .put(
                                            "tool_calls",
                                            new JsonArray()
                                                    .add(
                                                            new JsonObject()
                                                                    .put("index", 0)
                                                                    .put("id", "call_1")
                                                                    .put("type", "function")
                                                                    .put(
                                                                            "function",
                                                                            new JsonObject()
                                                                                    .put(
                                                                                            "name",
                                                                                            "search")
                                                                                    .put(
                                                                                            "arguments",
                                                                                            "")))),
                            null));
            events.add(
                    openAiChunk(
                            model,
                            new JsonObject()
                                    .put(
                                            "tool_calls",
                                            new JsonArray()
                                                    .add(
                                                            new JsonObject()
                                                                    .put("index", 0)
                                                                    .put(
                                                                            "function",
                                                                            new JsonObject()
                                                                                    .put(
                                                                                            "arguments",
                                                                                            "{\"q\":\"x\"}")))),
                            null));
        } else {
            int half = text.length() / 2;
            events.add(
                    openAiChunk(
                            model, new JsonObject().put("content", text.substring(0, half)), null));
            events.add(
                    openAiChunk(
                            model, new JsonObject().put("content", text.substring(half)), null));
        }
        events.add(openAiChunk(model, new JsonObject(), tools ? "tool_calls" : "stop"));
        if (includeUsage) {
            events.add(usageEvent(model, usage()));
        }
        events.add("data: [DONE]\n\n");
        return events;
    }

    /** The upstream's tokenizer in {@link #openAiTokenEvents}: not the gateway's o200k. */
    private static final Encoding UPSTREAM_TOKENS =
            Encodings.newDefaultEncodingRegistry().getEncoding(EncodingType.CL100K_BASE);

    /** Text as a model writes it: words with leading spaces, accents, CJK, punctuation. */
    private static final String PROSE =
            " Tide pools hold anemones, crabs and café-coloured snails; naïve visitors step on"
                    + " them. 潮だまりには小さな生き物がたくさんいます。 The water — cold, clear —"
                    + " returns twice a day (12.4 hours apart), and Ævar counts 37 sea stars.";

    /**
     * A stream of exactly {@code maxTokens} upstream tokens, one per chunk, then usage with that
     * count. The upstream's tokenizer is not the gateway's: its tokens are cl100k_base tokens,
     * except that every sixth spans two of them (its vocabulary merges more, as Gemini's and
     * Llama's do for some text), so the gateway's o200k count of the text runs a little above the
     * upstream's. A character whose bytes span tokens waits for the rest, as providers do.
     */
    static List<String> openAiTokenEvents(String model, int maxTokens) {
        IntArrayList cl100k = new IntArrayList();
        while (cl100k.size() < 2 * maxTokens) {
            IntArrayList more = UPSTREAM_TOKENS.encode(PROSE);
            for (int i = 0; i < more.size(); i++) {
                cl100k.add(more.get(i));
            }
        }
        List<String> events = new ArrayList<>();
        events.add(
                openAiChunk(
                        model, new JsonObject().put("role", "assistant").put("content", ""), null));
        java.io.ByteArrayOutputStream pending = new java.io.ByteArrayOutputStream();
        int next = 0;
        for (int token = 0; token < maxTokens; token++) {
            IntArrayList pieces = new IntArrayList();
            pieces.add(cl100k.get(next++));
            if (token % 6 == 5) {
                pieces.add(cl100k.get(next++));
            }
            pending.writeBytes(UPSTREAM_TOKENS.decodeBytes(pieces));
            String piece = completeUtf8(pending.toByteArray());
            if (piece != null) {
                events.add(openAiChunk(model, new JsonObject().put("content", piece), null));
                pending.reset();
            }
        }
        events.add(openAiChunk(model, new JsonObject(), "length"));
        events.add(
                usageEvent(
                        model,
                        new JsonObject()
                                .put("prompt_tokens", USAGE_IN)
                                .put("completion_tokens", maxTokens)
                                .put("total_tokens", USAGE_IN + maxTokens)));
        events.add("data: [DONE]\n\n");
        return events;
    }

    /** The last chunk of a stream that reports usage: no choices, only {@code usage}. */
    private static String usageEvent(String model, JsonObject usage) {
        return "data: "
                + new JsonObject()
                        .put("id", "chatcmpl-fake")
                        .put("object", "chat.completion.chunk")
                        .put("created", 1_700_000_000)
                        .put("model", model)
                        .put("choices", new JsonArray())
                        .put("usage", usage)
                        .encode()
                + "\n\n";
    }

    /** The text of these bytes, or null while they end inside a character. */
    private static String completeUtf8(byte[] bytes) {
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes))
                    .toString();
        } catch (CharacterCodingException partial) {
            return null;
        }
    }

    private static String openAiChunk(String model, JsonObject delta, String finish) {
        return "data: "
                + new JsonObject()
                        .put("id", "chatcmpl-fake")
                        .put("object", "chat.completion.chunk")
                        .put("created", 1_700_000_000)
                        .put("model", model)
                        .put(
                                "choices",
                                new JsonArray()
                                        .add(
                                                new JsonObject()
                                                        .put("index", 0)
                                                        .put("delta", delta)
                                                        .put("finish_reason", finish)))
                        .encode()
                + "\n\n";
    }

    static JsonObject anthropicMessage(String model, String text, boolean tools) {
        JsonArray content =
                new JsonArray().add(new JsonObject().put("type", "text").put("text", text));
        if (tools) {
            content.add(
                    new JsonObject()
                            .put("type", "tool_use")
                            .put("id", "toolu_1")
                            .put("name", "search")
                            .put("input", new JsonObject().put("q", "x")));
        }
        return new JsonObject()
                .put("id", "msg_fake")
                .put("type", "message")
                .put("role", "assistant")
                .put("model", model)
                .put("content", content)
                .put("stop_reason", tools ? "tool_use" : "end_turn")
                .putNull("stop_sequence")
                .put(
                        "usage",
                        new JsonObject()
                                .put("input_tokens", USAGE_IN)
                                .put("output_tokens", USAGE_OUT));
    }

    static List<String> anthropicEvents(String model, String text, boolean tools) {
        List<String> e = new ArrayList<>();
        e.add(
                event(
                        "message_start",
                        new JsonObject()
                                .put("type", "message_start")
                                .put(
                                        "message",
                                        new JsonObject()
                                                .put("id", "msg_fake")
                                                .put("type", "message")
                                                .put("role", "assistant")
                                                .put("model", model)
                                                .put("content", new JsonArray())
                                                .putNull("stop_reason")
                                                .putNull("stop_sequence")
                                                .put(
                                                        "usage",
                                                        new JsonObject()
                                                                .put("input_tokens", USAGE_IN)
                                                                .put("output_tokens", 1)))));
        e.add(
                event(
                        "content_block_start",
                        new JsonObject()
                                .put("type", "content_block_start")
                                .put("index", 0)
                                .put(
                                        "content_block",
                                        new JsonObject().put("type", "text").put("text", ""))));
        e.add(event("ping", new JsonObject().put("type", "ping")));
        int half = text.length() / 2;
        for (String piece : new String[] {text.substring(0, half), text.substring(half)}) {
            e.add(
                    event(
                            "content_block_delta",
                            new JsonObject()
                                    .put("type", "content_block_delta")
                                    .put("index", 0)
                                    .put(
                                            "delta",
                                            new JsonObject()
                                                    .put("type", "text_delta")
                                                    .put("text", piece))));
        }
        e.add(
                event(
                        "content_block_stop",
                        new JsonObject().put("type", "content_block_stop").put("index", 0)));
        if (tools) {
            e.add(
                    event(
                            "content_block_start",
                            new JsonObject()
                                    .put("type", "content_block_start")
                                    .put("index", 1)
                                    .put(
                                            "content_block",
                                            new JsonObject()
                                                    .put("type", "tool_use")
                                                    .put("id", "toolu_1")
                                                    .put("name", "search")
                                                    .put("input", new JsonObject()))));
            for (String piece : new String[] {"{\"q\":", "\"x\"}"}) {
                e.add(
                        event(
                                "content_block_delta",
                                new JsonObject()
                                        .put("type", "content_block_delta")
                                        .put("index", 1)
                                        .put(
                                                "delta",
                                                new JsonObject()
                                                        .put("type", "input_json_delta")
                                                        .put("partial_json", piece))));
            }
            e.add(
                    event(
                            "content_block_stop",
                            new JsonObject().put("type", "content_block_stop").put("index", 1)));
        }
        e.add(
                event(
                        "message_delta",
                        new JsonObject()
                                .put("type", "message_delta")
                                .put(
                                        "delta",
                                        new JsonObject()
                                                .put("stop_reason", tools ? "tool_use" : "end_turn")
                                                .putNull("stop_sequence"))
                                .put("usage", new JsonObject().put("output_tokens", USAGE_OUT))));
        e.add(event("message_stop", new JsonObject().put("type", "message_stop")));
        return e;
    }

    private static String event(String name, JsonObject data) {
        return "event: " + name + "\ndata: " + data.encode() + "\n\n";
    }

    static JsonObject geminiResponse(
            String model, String text, boolean tools, boolean last, boolean withUsage) {
        JsonArray parts = new JsonArray();
        if (text != null) {
            parts.add(new JsonObject().put("text", text));
        }
        if (tools && last) {
            parts.add(
                    new JsonObject()
                            .put(
                                    "functionCall",
                                    new JsonObject()
                                            .put("name", "search")
                                            .put("args", new JsonObject().put("q", "x"))));
        }
        JsonObject candidate =
                new JsonObject()
                        .put("content", new JsonObject().put("parts", parts).put("role", "model"))
                        .put("index", 0);
        if (last) {
            candidate.put("finishReason", "STOP");
        }
        JsonObject out =
                new JsonObject()
                        .put("candidates", new JsonArray().add(candidate))
                        .put("modelVersion", model);
        if (withUsage) {
            out.put(
                    "usageMetadata",
                    new JsonObject()
                            .put("promptTokenCount", USAGE_IN)
                            .put("candidatesTokenCount", last ? USAGE_OUT : 2)
                            .put("totalTokenCount", USAGE_IN + (last ? USAGE_OUT : 2)));
        }
        return out;
    }

    static List<String> geminiEvents(String model, String text, boolean tools, boolean withUsage) {
        int half = text.length() / 2;
        return List.of(
                "data: "
                        + geminiResponse(model, text.substring(0, half), false, false, withUsage)
                                .encode()
                        + "\r\n\r\n",
                "data: "
                        + geminiResponse(model, text.substring(half), tools, true, withUsage)
                                .encode()
                        + "\r\n\r\n");
    }

    private static JsonObject usage() {
        return new JsonObject()
                .put("prompt_tokens", USAGE_IN)
                .put("completion_tokens", USAGE_OUT)
                .put("total_tokens", USAGE_IN + USAGE_OUT);
    }
}
