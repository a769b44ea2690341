package io.flotilla.common.tokens;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

class TokenEstimatorTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void countsTextWithTheRealTokenizer() {
        assertEquals(0, TokenEstimator.count(""));
        assertEquals(2, TokenEstimator.count("Hello world"));
        assertTrue(TokenEstimator.count("word ".repeat(1000)) >= 1000);
    }

    @Test
    void promptEstimateGrowsWithMessagesAndTools() throws Exception {
        JsonNode small = JSON.readTree("{\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]}");
        JsonNode larger =
                JSON.readTree(
                        "{\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},"
                                + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Summarise the history of Rome\"}]}],"
                                + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"search\",\"parameters\":{\"type\":\"object\"}}}]}");
        int s = TokenEstimator.promptTokens(small);
        assertEquals(3 + 3 + 1 + 1, s, "primer + per-message + role + content");
        assertTrue(TokenEstimator.promptTokens(larger) > s + 15);
        assertTrue(TokenEstimator.promptText(larger).contains("history of Rome"));
        assertTrue(
                TokenEstimator.promptTokensUpperBound(larger)
                        >= TokenEstimator.promptTokens(larger));
        assertTrue(TokenEstimator.promptTokensUpperBound(small) >= s);
    }

    @Test
    void headKeepsTheLongestBeginningWithinTheTokens() {
        String text = "Tides rise and fall twice a day. Über-große Wellen 🌊 kommen selten.";
        for (int n = 0; n <= TokenEstimator.count(text); n++) {
            String head = TokenEstimator.head(text, n);
            assertTrue(text.startsWith(head), head);
            assertTrue(TokenEstimator.count(head) <= n, n + ": " + head);
        }
        assertEquals(text, TokenEstimator.head(text, 1000));
        String two = TokenEstimator.head(text, 2);
        assertEquals(2, TokenEstimator.count(two), "as long as the tokens allow: " + two);
    }
}
