package io.flotilla.executor.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.ToolExecutionResultMessage;
import dev.langchain4j.data.message.UserMessage;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A tool-calling conversation held within the context limit by each strategy. */
class ConversationTest {

    private static final List<ChatMessage> BASE =
            List.of(SystemMessage.from("You read pages."), UserMessage.from("Read five pages."));

    /** Five exchanges, each a call and a result of about 200 tokens. */
    private static Conversation five() {
        List<JsonNode> entries = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            var turn = JsonNodeFactory.instance.objectNode().put("type", "turn");
            turn.putArray("calls")
                    .addObject()
                    .put("id", "call_" + i)
                    .put("name", "page")
                    .put("arguments", "{\"n\":" + i + "}");
            entries.add(turn);
            entries.add(
                    Conversation.result(
                            turn.path("calls").get(0), ("page " + i + " ").repeat(100)));
        }
        return new Conversation(entries);
    }

    private static List<ChatMessage> fit(Conversation c, String strategy, List<JsonNode> recorded) {
        return c.fit(
                "read", BASE, 0, 600, strategy, (text, max) -> "five pages, alike", recorded::add);
    }

    @Test
    void failFailsAndNamesWhatToChange() {
        AgentCaller.CallFailed f =
                assertThrows(
                        AgentCaller.CallFailed.class, () -> fit(five(), "fail", new ArrayList<>()));
        assertTrue(
                f.getMessage()
                        .startsWith("step read: its conversation with 5 tool results is over"),
                f.getMessage());
    }

    @Test
    void windowDropsTheOldestExchangesAndKeepsSystemPromptAndTheLatest() {
        List<ChatMessage> m = fit(five(), "window", new ArrayList<>());
        assertEquals(BASE, m.subList(0, 2), "the system message and the prompt are never cut");
        assertTrue(
                ((AiMessage) m.get(2))
                        .text()
                        .contains("earlier tool calls and their results were removed"));
        ToolExecutionResultMessage last = (ToolExecutionResultMessage) m.get(m.size() - 1);
        assertEquals("call_4", last.id(), "the latest exchange stays");
        assertTrue(
                Conversation.tokens(m) + 3 <= 600, "within the limit: " + Conversation.tokens(m));
    }

    @Test
    void summarizeReplacesTheOlderExchangesWithOneRecordedSummary() {
        List<JsonNode> recorded = new ArrayList<>();
        Conversation c = five();
        List<ChatMessage> m = fit(c, "summarize", recorded);
        assertEquals(1, recorded.size());
        assertEquals(
                8, recorded.get(0).path("from").asInt(), "the latest exchange is not summarized");
        assertEquals(
                "Summary of my earlier tool calls and their results: five pages, alike",
                ((AiMessage) m.get(2)).text());
        assertEquals("call_4", ((ToolExecutionResultMessage) m.get(m.size() - 1)).id());

        List<JsonNode> again = new ArrayList<>();
        fit(c, "summarize", again);
        assertEquals(List.of(), again, "a recorded summary is used, not asked for again");
    }
}
