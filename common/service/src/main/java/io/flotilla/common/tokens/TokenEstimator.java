package io.flotilla.common.tokens;

import com.fasterxml.jackson.databind.JsonNode;
import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingResult;
import com.knuddels.jtokkit.api.EncodingType;

/**
 * Estimates the prompt tokens of an OpenAI-format chat request with a real BPE tokenizer ({@code
 * o200k_base}, the encoding of current OpenAI models). Other providers tokenize differently, so the
 * estimate is used for decisions that need a bound, not for billing: per-message overhead follows
 * OpenAI's published counting rule (3 tokens per message, 3 to prime the reply), and tool
 * definitions and non-text parts are counted by their JSON text.
 */
public final class TokenEstimator {

    private static final Encoding ENCODING =
            Encodings.newLazyEncodingRegistry().getEncoding(EncodingType.O200K_BASE);
    private static final int PER_MESSAGE = 3;
    private static final int REPLY_PRIMER = 3;

    private TokenEstimator() {}

    /** Tokens of a plain text. */
    public static int count(String text) {
        return text == null || text.isEmpty() ? 0 : ENCODING.countTokensOrdinary(text);
    }

    /**
     * Estimated prompt tokens of a chat completion request body ({@code messages}, {@code tools}).
     */
    public static int promptTokens(JsonNode request) {
        return estimate(request, TokenEstimator::count);
    }

    /**
     * The longest beginning of a text that is at most {@code maxTokens} tokens (whole characters
     * only).
     */
    public static String head(String text, int maxTokens) {
        EncodingResult result = ENCODING.encodeOrdinary(text, Math.max(0, maxTokens));
        return result.isTruncated()
                ? text.substring(0, result.getLastProcessedCharacterIndex() + 1)
                : text;
    }

    /**
     * A bound that is never below {@link #promptTokens}, computed without tokenizing: a BPE token
     * covers at least one UTF-8 byte, so bytes bound tokens. Lets callers skip the tokenizer when
     * even the bound fits.
     */
    public static int promptTokensUpperBound(JsonNode request) {
        return estimate(
                request,
                text ->
                        text == null
                                ? 0
                                : text.getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
    }

    private static int estimate(JsonNode request, java.util.function.ToIntFunction<String> count) {
        int total = REPLY_PRIMER;
        for (JsonNode message : request.path("messages")) {
            total += PER_MESSAGE + count.applyAsInt(message.path("role").asText(""));
            JsonNode content = message.path("content");
            if (content.isTextual()) {
                total += count.applyAsInt(content.asText());
            } else if (content.isArray()) {
                for (JsonNode part : content) {
                    total +=
                            part.has("text")
                                    ? count.applyAsInt(part.path("text").asText())
                                    : count.applyAsInt(part.toString());
                }
            }
            if (message.has("tool_calls")) {
                total += count.applyAsInt(message.path("tool_calls").toString());
            }
            if (message.has("name")) {
                total += 1 + count.applyAsInt(message.path("name").asText());
            }
        }
        if (request.has("tools")) {
            total += count.applyAsInt(request.path("tools").toString());
        }
        return total;
    }

    /** The concatenated text of the user and system messages (for routing rules). */
    public static String promptText(JsonNode request) {
        StringBuilder text = new StringBuilder();
        for (JsonNode message : request.path("messages")) {
            JsonNode content = message.path("content");
            if (content.isTextual()) {
                text.append(content.asText()).append('\n');
            } else if (content.isArray()) {
                content.forEach(part -> text.append(part.path("text").asText("")).append('\n'));
            }
        }
        return text.toString();
    }
}
