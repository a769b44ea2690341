package io.flotilla.executor.agent;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.common.tokens.TokenEstimator;
import io.flotilla.common.workflow.Expressions.Rendered;
import io.flotilla.executor.step.FailureKind;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class ContextLimitTest {

    private static final String NOTES =
            IntStream.range(0, 3000).mapToObj(i -> "fact" + i).collect(Collectors.joining(" "));

    private static List<Rendered> messages(String notes) {
        return List.of(
                new Rendered(List.of("You brief editors."), List.of()),
                new Rendered(List.of("Brief on ", ": ", " End."), List.of("tides", notes)));
    }

    private static int tokens(List<Rendered> messages) {
        return 3 + messages.stream().mapToInt(m -> 4 + TokenEstimator.count(m.text())).sum();
    }

    @Test
    void sharesKeepSmallValuesWholeAndSplitTheRestEvenly() {
        assertArrayEquals(
                new int[] {10, 295, 295}, ContextLimit.shares(new int[] {10, 500, 1000}, 600));
        assertArrayEquals(
                new int[] {300, 10, 290}, ContextLimit.shares(new int[] {1000, 10, 290}, 600));
    }

    @Test
    void messagesWithinTheLimitAreUntouched() {
        List<Rendered> small = messages("a few facts");
        assertSame(
                small,
                ContextLimit.fit(
                        "s",
                        400,
                        "fail",
                        small,
                        (t, n) -> {
                            throw new AssertionError("nothing to summarize");
                        }));
    }

    @Test
    void failRefusesWithTheCountAndWhatToDo() {
        var e =
                assertThrows(
                        AgentCaller.CallFailed.class,
                        () -> ContextLimit.fit("brief", 400, "fail", messages(NOTES), null));
        assertEquals(FailureKind.FATAL, e.kind);
        assertTrue(
                e.getMessage()
                        .startsWith(
                                "step brief: its messages are "
                                        + tokens(messages(NOTES))
                                        + " tokens, over context.maxTokens 400"),
                e.getMessage());
        assertTrue(
                e.getMessage().contains("set context.strategy to window or summarize"),
                e.getMessage());
        assertThrows(
                AgentCaller.CallFailed.class,
                () -> ContextLimit.fit("brief", 400, null, messages(NOTES), null),
                "fail is the default");
    }

    @Test
    void windowCutsTheLargeValueKeepingTheAuthorsText() {
        List<Rendered> fitted = ContextLimit.fit("brief", 400, "window", messages(NOTES), null);
        assertTrue(tokens(fitted) <= 400, "within the limit: " + tokens(fitted));
        assertTrue(
                tokens(fitted) >= 400 - 2 * ContextLimit.MARGIN - 8,
                "the room is used: " + tokens(fitted));
        assertEquals("You brief editors.", fitted.get(0).text());
        String prompt = fitted.get(1).text();
        assertTrue(prompt.startsWith("Brief on tides: fact0 fact1 fact2 "), prompt);
        assertTrue(
                prompt.matches("(?s).* …\\[\\d+ tokens cut] End\\."),
                prompt.substring(prompt.length() - 40));
    }

    @Test
    void summarizeAsksForTheValuesShareAndCutsAnOverlongSummary() {
        List<Integer> asked = new ArrayList<>();
        List<Rendered> fitted =
                ContextLimit.fit(
                        "brief",
                        400,
                        "summarize",
                        messages(NOTES),
                        (text, max) -> {
                            assertEquals(NOTES, text, "the value to summarize, whole");
                            asked.add(max);
                            return "the summary";
                        });
        assertEquals(1, asked.size(), "only the value that does not fit is summarized");
        assertTrue(asked.get(0) > 200 && asked.get(0) < 400, "its share: " + asked);
        assertEquals("Brief on tides: the summary End.", fitted.get(1).text());

        List<Rendered> cut =
                ContextLimit.fit("brief", 400, "summarize", messages(NOTES), (text, max) -> NOTES);
        assertTrue(tokens(cut) <= 400, "a summary past its share is cut: " + tokens(cut));
    }

    @Test
    void templatesTooLongForTheLimitAreReportedAsSuch() {
        String longText = "word ".repeat(500);
        List<Rendered> messages = List.of(new Rendered(List.of(longText, ""), List.of(NOTES)));
        var e =
                assertThrows(
                        AgentCaller.CallFailed.class,
                        () -> ContextLimit.fit("brief", 300, "window", messages, null));
        assertTrue(e.getMessage().contains("the templates' own text takes"), e.getMessage());
    }
}
