package io.flotilla.executor.agent;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.langchain4j.agent.tool.ToolExecutionRequest;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import io.flotilla.common.tokens.TokenEstimator;
import io.flotilla.executor.step.FailureKind;
import java.util.ArrayList;
import java.util.List;

/**
 * An agent step's tool-calling conversation after its system message and prompt, rebuilt from the
 * step's journal: model turns ({@code {"type":"turn","text","calls":[{id,name,arguments}]}}), tool
 * results ({@code {"type":"result","id","name","content"}}) and summaries ({@code
 * {"type":"summary","from","text"}}: the exchanges before entry {@code from}, summarized). An
 * exchange is a turn and the results of its calls.
 *
 * <p>Held within {@code context.maxTokens}: the system message, the prompt (the latest user turn)
 * and the latest exchange's calls are never cut. Older exchanges give way first: {@code window}
 * drops them, oldest first (a note says how many), {@code summarize} has the model summarize them
 * into one message (kept in the journal, so a resumed step does not summarize again); then the
 * latest exchange's results are cut from the end. {@code fail} fails the step instead.
 */
final class Conversation {

    /** Tokens per message besides its text (OpenAI's rule: role and separators), and the primer. */
    private static final int PER_MESSAGE = 4;

    private static final int PRIMER = 3;

    private final List<JsonNode> entries;

    Conversation(List<JsonNode> entries) {
        this.entries = new ArrayList<>(entries);
    }

    void add(JsonNode entry) {
        entries.add(entry);
    }

    int count(String type) {
        return (int) entries.stream().filter(e -> e.path("type").asText().equals(type)).count();
    }

    /** The calls of the latest turn that have no result yet (a step resumed mid-turn). */
    List<JsonNode> pendingCalls() {
        List<JsonNode> pending = new ArrayList<>();
        for (JsonNode e : entries) {
            switch (e.path("type").asText()) {
                case "turn" -> {
                    pending.clear();
                    e.path("calls").forEach(pending::add);
                }
                case "result" ->
                        pending.removeIf(c -> c.path("id").asText().equals(e.path("id").asText()));
                default -> {}
            }
        }
        return pending;
    }

    static ObjectNode turn(AiMessage ai) {
        ObjectNode turn = JsonNodeFactory.instance.objectNode().put("type", "turn");
        if (ai.text() != null) {
            turn.put("text", ai.text());
        }
        var calls = turn.putArray("calls");
        for (ToolExecutionRequest r : ai.toolExecutionRequests()) {
            calls.addObject()
                    .put("id", r.id())
                    .put("name", r.name())
                    .put("arguments", r.arguments() == null ? "{}" : r.arguments());
        }
        return turn;
    }

    static ObjectNode result(JsonNode call, String content) {
        return JsonNodeFactory.instance
                .objectNode()
                .put("type", "result")
                .put("id", call.path("id").asText())
                .put("name", call.path("name").asText())
                .put("content", content);
    }

    /** Summarizes text into at most {@code maxTokens}, recording the summary in the journal. */
    interface Summarizer {
        String summarize(String text, int maxTokens);
    }

    /**
     * The messages to send: {@code base} (system message and prompt) and the conversation, within
     * {@code maxTokens} (null: no limit) less {@code reserved} (the tools' definitions). {@code
     * summarizer} is asked, and the summary added as an entry through {@code record}, only with
     * strategy summarize.
     */
    List<ChatMessage> fit(
            String stepId,
            List<ChatMessage> base,
            int reserved,
            Integer maxTokens,
            String strategy,
            Summarizer summarizer,
            java.util.function.Consumer<JsonNode> record) {
        int from = 0;
        String summary = null;
        for (int i = 0; i < entries.size(); i++) {
            if (entries.get(i).path("type").asText().equals("summary")) {
                from = entries.get(i).path("from").asInt();
                summary = entries.get(i).path("text").asText();
            }
        }
        List<List<JsonNode>> exchanges = exchanges(from);
        if (maxTokens == null) {
            return messages(base, summary, 0, exchanges, Integer.MAX_VALUE);
        }
        int fixed = PRIMER + reserved + tokens(base);
        int[] sizes = sizes(exchanges);
        if (total(fixed, summary, 0, sizes) <= maxTokens) {
            return messages(base, summary, 0, exchanges, Integer.MAX_VALUE);
        }
        String mode = strategy == null ? "fail" : strategy;
        if (mode.equals("fail")) {
            throw new AgentCaller.CallFailed(
                    FailureKind.FATAL,
                    "step "
                            + stepId
                            + ": its conversation with "
                            + count("result")
                            + " tool results is over context.maxTokens "
                            + maxTokens
                            + " (context.strategy fail): raise context.maxTokens, lower"
                            + " agent.maxToolCalls, or set context.strategy to window or summarize",
                    0,
                    0);
        }
        if (mode.equals("summarize") && exchanges.size() > 1) {
            StringBuilder text = new StringBuilder();
            if (summary != null) {
                text.append("Earlier: ").append(summary).append('\n');
            }
            for (List<JsonNode> ex : exchanges.subList(0, exchanges.size() - 1)) {
                text.append(plain(ex)).append('\n');
            }
            List<JsonNode> latest = exchanges.get(exchanges.size() - 1);
            int latestFrom = from;
            for (int i = from; i < entries.size(); i++) {
                if (entries.get(i).path("type").asText().equals("turn")) {
                    latestFrom = i;
                }
            }
            int room = Math.max(64, (maxTokens - fixed) / 4);
            summary = summarizer.summarize(text.toString(), room);
            if (TokenEstimator.count(summary) > room) {
                summary = TokenEstimator.head(summary, room) + " …";
            }
            ObjectNode entry =
                    JsonNodeFactory.instance
                            .objectNode()
                            .put("type", "summary")
                            .put("from", latestFrom)
                            .put("text", summary);
            record.accept(entry);
            entries.add(entry);
            exchanges = List.of(latest);
            sizes = new int[] {sizes[sizes.length - 1]};
            if (total(fixed, summary, 0, sizes) <= maxTokens) {
                return messages(base, summary, 0, exchanges, Integer.MAX_VALUE);
            }
        }
        int dropped = 0;
        while (dropped < exchanges.size() - 1
                && total(fixed, summary, dropped, sizes) > maxTokens) {
            dropped++;
        }
        if (total(fixed, summary, dropped, sizes) <= maxTokens) {
            return messages(base, summary, dropped, exchanges, Integer.MAX_VALUE);
        }
        // only the latest exchange is left: its results share what room remains
        List<JsonNode> latest = exchanges.get(exchanges.size() - 1);
        int results =
                (int) latest.stream().filter(e -> e.path("type").asText().equals("result")).count();
        int others =
                fixed
                        + tokens(messages(List.of(), summary, dropped, exchanges, 0))
                        + (dropped > 0 ? 32 : 0);
        int share = results == 0 ? 0 : (maxTokens - others) / results - 16;
        if (share < 16) {
            throw new AgentCaller.CallFailed(
                    FailureKind.FATAL,
                    "step "
                            + stepId
                            + ": its system message, prompt and latest tool calls alone are over"
                            + " context.maxTokens "
                            + maxTokens
                            + ": raise context.maxTokens or shorten the templates",
                    0,
                    0);
        }
        return messages(base, summary, dropped, exchanges, share);
    }

    /** The tokens of each exchange's messages, counted once per fit. */
    private static int[] sizes(List<List<JsonNode>> exchanges) {
        int[] sizes = new int[exchanges.size()];
        for (int i = 0; i < sizes.length; i++) {
            sizes[i] =
                    tokens(
                            messages(
                                    List.of(),
                                    null,
                                    0,
                                    List.of(exchanges.get(i)),
                                    Integer.MAX_VALUE));
        }
        return sizes;
    }

    /**
     * The tokens sent without the first {@code dropped} exchanges: the fixed part, the summary and
     * the note of what was dropped, and the exchanges that stay.
     */
    private static int total(int fixed, String summary, int dropped, int[] sizes) {
        int total = fixed + tokens(messages(List.of(), summary, dropped, List.of(), 0));
        for (int i = dropped; i < sizes.length; i++) {
            total += sizes[i];
        }
        return total;
    }

    /** The exchanges from entry {@code from} on, summaries left out. */
    private List<List<JsonNode>> exchanges(int from) {
        List<List<JsonNode>> out = new ArrayList<>();
        for (JsonNode e : entries.subList(Math.min(from, entries.size()), entries.size())) {
            switch (e.path("type").asText()) {
                case "turn" -> out.add(new ArrayList<>(List.of(e)));
                case "result" -> {
                    if (!out.isEmpty()) {
                        out.get(out.size() - 1).add(e);
                    }
                }
                default -> {}
            }
        }
        return out;
    }

    /**
     * The messages of the base, the summary, and the exchanges but the first {@code dropped}; each
     * result of the latest exchange cut to {@code share} tokens.
     */
    private static List<ChatMessage> messages(
            List<ChatMessage> base,
            String summary,
            int dropped,
            List<List<JsonNode>> exchanges,
            int share) {
        List<ChatMessage> out = new ArrayList<>(base);
        if (summary != null) {
            out.add(
                    AiMessage.from(
                            "Summary of my earlier tool calls and their results: " + summary));
        }
        if (dropped > 0) {
            out.add(
                    AiMessage.from(
                            "["
                                    + dropped
                                    + " earlier tool calls and their results were removed to fit"
                                    + " the context limit]"));
        }
        for (int x = dropped; x < exchanges.size(); x++) {
            boolean latest = x == exchanges.size() - 1;
            for (JsonNode e : exchanges.get(x)) {
                if (e.path("type").asText().equals("turn")) {
                    List<ToolExecutionRequest> calls = new ArrayList<>();
                    e.path("calls")
                            .forEach(
                                    c ->
                                            calls.add(
                                                    ToolExecutionRequest.builder()
                                                            .id(c.path("id").asText())
                                                            .name(c.path("name").asText())
                                                            .arguments(c.path("arguments").asText())
                                                            .build()));
                    out.add(
                            e.has("text")
                                    ? AiMessage.from(e.path("text").asText(), calls)
                                    : AiMessage.from(calls));
                } else {
                    String content = e.path("content").asText();
                    int size =
                            latest && share < Integer.MAX_VALUE ? TokenEstimator.count(content) : 0;
                    if (size > share) {
                        content =
                                TokenEstimator.head(content, share)
                                        + " …["
                                        + (size - share)
                                        + " tokens cut]";
                    }
                    out.add(
                            ToolExecutionResultMessage.from(
                                    e.path("id").asText(), e.path("name").asText(), content));
                }
            }
        }
        return out;
    }

    /** An exchange as text, for a summary. */
    private static String plain(List<JsonNode> exchange) {
        StringBuilder out = new StringBuilder();
        for (JsonNode e : exchange) {
            if (e.path("type").asText().equals("turn")) {
                if (e.has("text")) {
                    out.append("I said: ").append(e.path("text").asText()).append('\n');
                }
                e.path("calls")
                        .forEach(
                                c ->
                                        out.append("I called ")
                                                .append(c.path("name").asText())
                                                .append(' ')
                                                .append(c.path("arguments").asText())
                                                .append('\n'));
            } else {
                out.append("Result of ")
                        .append(e.path("name").asText())
                        .append(": ")
                        .append(e.path("content").asText())
                        .append('\n');
            }
        }
        return out.toString();
    }

    /** The tokens of messages as a chat request counts them. */
    static int tokens(List<ChatMessage> messages) {
        int total = 0;
        for (ChatMessage m : messages) {
            total += PER_MESSAGE;
            if (m instanceof SystemMessage s) {
                total += TokenEstimator.count(s.text());
            } else if (m instanceof UserMessage u) {
                total += TokenEstimator.count(u.singleText());
            } else if (m instanceof AiMessage a) {
                total += a.text() == null ? 0 : TokenEstimator.count(a.text());
                if (a.hasToolExecutionRequests()) {
                    var calls = JsonNodeFactory.instance.arrayNode();
                    for (ToolExecutionRequest r : a.toolExecutionRequests()) {
                        ObjectNode c = calls.addObject().put("id", r.id()).put("type", "function");
                        c.putObject("function")
                                .put("name", r.name())
                                .put("arguments", r.arguments());
                    }
                    total += TokenEstimator.count(calls.toString());
                }
            } else if (m instanceof ToolExecutionResultMessage t) {
                total += TokenEstimator.count(t.text()) + TokenEstimator.count(t.id());
            }
        }
        return total;
    }
}
