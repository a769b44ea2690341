package io.flotilla.executor.agent;

import io.flotilla.common.tokens.TokenEstimator;
import io.flotilla.common.workflow.Expressions.Rendered;
import io.flotilla.executor.step.FailureKind;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Keeps an agent step's messages within the workflow's {@code context.maxTokens}, counted with the
 * gateway's tokenizer and OpenAI's per-message rule. Only what the templates inserted ({@code
 * {{...}}}) is shortened; the text the author wrote is kept as written. The room left is shared out
 * so that small values stay whole and the largest give way first. Strategies: {@code fail} (the
 * default) fails the step without calling the model; {@code window} keeps the beginning of each
 * value that does not fit, marking the cut; {@code summarize} has the model summarize such a value
 * into its share (cut too if the summary overruns it).
 */
final class ContextLimit {

    /** Tokens kept free per inserted value for the cut marker and for merges at the seams. */
    static final int MARGIN = 16;

    /** Shortens one inserted value to at most {@code maxTokens}. */
    interface Summarizer {
        String summarize(String text, int maxTokens);
    }

    private ContextLimit() {}

    /**
     * The messages, shortened if they exceed {@code maxTokens}; a FATAL failure when they cannot
     * be.
     */
    static List<Rendered> fit(
            String stepId,
            int maxTokens,
            String strategy,
            List<Rendered> messages,
            Summarizer summarizer) {
        int overhead = 3 + 4 * messages.size(); // reply primer; per message 3 + the role's token
        long bound = overhead;
        for (Rendered m : messages) {
            bound +=
                    m.text()
                            .getBytes(StandardCharsets.UTF_8)
                            .length; // a token covers at least one byte
        }
        if (bound <= maxTokens) {
            return messages;
        }
        int total = overhead;
        int fixed = overhead;
        List<String> values = new ArrayList<>();
        for (Rendered m : messages) {
            total += TokenEstimator.count(m.text());
            fixed += m.literals().stream().mapToInt(TokenEstimator::count).sum();
            values.addAll(m.values());
        }
        if (total <= maxTokens) {
            return messages;
        }
        int[] sizes = values.stream().mapToInt(TokenEstimator::count).toArray();
        String over =
                "step "
                        + stepId
                        + ": its messages are "
                        + total
                        + " tokens, over context.maxTokens "
                        + maxTokens;
        if (strategy == null || strategy.equals("fail")) {
            throw new AgentCaller.CallFailed(
                    FailureKind.FATAL,
                    over
                            + " (context.strategy fail): raise context.maxTokens, "
                            + "shorten what the templates insert, or set context.strategy to window or summarize",
                    0,
                    0);
        }
        int room = maxTokens - fixed - MARGIN * values.size();
        if (room < values.size()) {
            throw new AgentCaller.CallFailed(
                    FailureKind.FATAL,
                    over
                            + ", and the templates' own text takes "
                            + fixed
                            + " of them, leaving no room for what they insert: raise context.maxTokens or shorten the templates",
                    0,
                    0);
        }
        int[] shares = shares(sizes, room);
        List<String> fitted = new ArrayList<>(values);
        for (int i = 0; i < sizes.length; i++) {
            if (sizes[i] > shares[i]) {
                String shorter =
                        strategy.equals("summarize")
                                ? summarizer.summarize(values.get(i), shares[i])
                                : values.get(i);
                if (TokenEstimator.count(shorter) > shares[i]) {
                    shorter =
                            TokenEstimator.head(shorter, shares[i])
                                    + " …["
                                    + (sizes[i] - shares[i])
                                    + " tokens cut]";
                }
                fitted.set(i, shorter);
            }
        }
        List<Rendered> result = new ArrayList<>();
        int at = 0;
        for (Rendered m : messages) {
            result.add(m.withValues(fitted.subList(at, at + m.values().size())));
            at += m.values().size();
        }
        return result;
    }

    /**
     * Shares {@code room} tokens among values of these sizes: a value smaller than an even share
     * keeps its size.
     */
    static int[] shares(int[] sizes, int room) {
        Integer[] order = IntStream.range(0, sizes.length).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingInt(i -> sizes[i]));
        int[] shares = new int[sizes.length];
        int left = room;
        for (int k = 0; k < order.length; k++) {
            int i = order[k];
            shares[i] = Math.min(sizes[i], left / (order.length - k));
            left -= shares[i];
        }
        return shares;
    }
}
