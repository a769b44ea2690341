package io.flotilla.gateway.chat;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.common.tokens.TokenEstimator;
import java.nio.charset.StandardCharsets;

/**
 * The gateway's own count of a streamed completion: the fallback when the upstream reports no
 * usage, and the check that an upstream keeps to the {@code max_tokens} it was sent. It counts the
 * assembled text (content, tool names and arguments) — never chunk by chunk, which splits tokens
 * and overcounts — and only when the text could have passed the limit: no text has more tokens than
 * twice its UTF-8 bytes beyond the last count, so until then there is nothing to count.
 */
final class CompletionCount {

    private final long limit;
    private final StringBuilder text = new StringBuilder();
    private long bytes;
    private long counted;
    private long bytesAtCount;

    /** {@code limit}: tokens past which {@link #add} reports an overrun; negative for none. */
    CompletionCount(long limit) {
        this.limit = limit;
    }

    /** Adds a chunk's completion text; true when the assembled text now exceeds the limit. */
    boolean add(JsonNode chunk) {
        for (JsonNode choice : chunk.path("choices")) {
            JsonNode delta = choice.path("delta");
            append(delta.path("content").asText(""));
            for (JsonNode call : delta.path("tool_calls")) {
                append(call.path("function").path("name").asText(""));
                append(call.path("function").path("arguments").asText(""));
            }
        }
        if (limit < 0 || counted + 2 * (bytes - bytesAtCount) <= limit) {
            return false;
        }
        return tokens() > limit;
    }

    /** The tokens of the assembled text (o200k), counted now if it grew since the last count. */
    long tokens() {
        if (bytesAtCount != bytes) {
            counted = TokenEstimator.count(text.toString());
            bytesAtCount = bytes;
        }
        return counted;
    }

    private void append(String s) {
        if (!s.isEmpty()) {
            text.append(s);
            bytes += s.getBytes(StandardCharsets.UTF_8).length;
        }
    }
}
