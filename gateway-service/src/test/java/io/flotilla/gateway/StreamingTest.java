package io.flotilla.gateway;

import static io.flotilla.gateway.fake.FakeUpstream.Behaviour.CUT_BEFORE_FIRST;
import static io.flotilla.gateway.fake.FakeUpstream.Behaviour.CUT_MID_STREAM;
import static io.flotilla.gateway.fake.FakeUpstream.Behaviour.E500;
import static io.flotilla.gateway.fake.FakeUpstream.script;
import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.gateway.fake.FakeUpstream;
import io.flotilla.gateway.fake.GatewayTestResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * SSE streams: exact wire format, fallback before the first chunk, an error event when cut mid-way.
 */
@QuarkusTest
@QuarkusTestResource(GatewayTestResource.class)
class StreamingTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    static Response stream(String key, String model, boolean includeUsage) {
        Map<String, Object> body =
                new java.util.HashMap<>(
                        Map.of(
                                "model",
                                model,
                                "stream",
                                true,
                                "messages",
                                List.of(Map.of("role", "user", "content", "tell me"))));
        if (includeUsage) {
            body.put("stream_options", Map.of("include_usage", true));
        }
        return given().header("Authorization", "Bearer " + key)
                .contentType(ContentType.JSON)
                .body(body)
                .post("/v1/chat/completions");
    }

    /** The data payloads of an SSE body, in order. */
    static List<String> data(String body) {
        List<String> out = new ArrayList<>();
        for (String event : body.split("\n\n")) {
            if (event.startsWith("data: ")) {
                out.add(event.substring(6));
            }
        }
        return out;
    }

    static String text(List<String> data) throws Exception {
        StringBuilder s = new StringBuilder();
        for (String d : data) {
            if (!d.equals("[DONE]")) {
                JsonNode chunk = JSON.readTree(d);
                chunk.path("choices")
                        .forEach(c -> s.append(c.path("delta").path("content").asText("")));
            }
        }
        return s.toString();
    }

    @Test
    void streamsInOpenAisWireFormatAndEndsWithDone() throws Exception {
        String key = GatewayApi.key("streaming");
        Response r = stream(key, "streaming", false);
        r.then().statusCode(200).contentType("text/event-stream");
        List<String> data = data(r.asString());
        assertEquals("[DONE]", data.get(data.size() - 1));
        assertEquals("echo: tell me", text(data));
        assertTrue(
                data.stream().noneMatch(d -> d.contains("\"usage\"")),
                "no usage chunk unless the caller asked for one");
    }

    @Test
    void usageChunkArrivesWhenAsked() {
        String key = GatewayApi.key("streaming");
        List<String> data = data(stream(key, "streaming", true).asString());
        assertTrue(data.get(data.size() - 2).contains("\"prompt_tokens\":11"), data.toString());
    }

    @Test
    void aStreamThatFailsBeforeItsFirstChunkFallsBack() throws Exception {
        String key = GatewayApi.key("streaming");
        script("st-primary", E500, CUT_BEFORE_FIRST, CUT_BEFORE_FIRST);
        Response r = stream(key, "streaming", false);
        r.then().statusCode(200).header("x-flotilla-model", "st-backup");
        assertEquals("echo: tell me", text(data(r.asString())));
    }

    @Test
    void aStreamCutMidWayEndsWithAnErrorEventNotWithDone() {
        String key = GatewayApi.key("cutting");
        script("st-cut", CUT_MID_STREAM);
        Response r = stream(key, "cutting", false);
        r.then().statusCode(200).header("x-flotilla-model", "st-cut");
        List<String> data = data(r.asString());
        assertFalse(data.contains("[DONE]"), "a broken stream must not look finished: " + data);
        String last = data.get(data.size() - 1);
        assertTrue(last.contains("\"error\"") && last.contains("stream_interrupted"), last);
    }

    @Test
    void aStreamThatSendsNoEventWithinTheTimeoutIsRetriedThenEnds() throws Exception {
        // keep-alive comments keep the connection busy but carry no event: the attempt is cut
        // after the target's timeout (500 ms) and retried like any timeout; it never hangs
        String key = GatewayApi.key("stalling");
        script("st-stall", FakeUpstream.Behaviour.STALL, FakeUpstream.Behaviour.OK);
        Response retried = stream(key, "stalling", false);
        retried.then().statusCode(200);
        assertEquals("echo: tell me", text(data(retried.asString())));
        assertEquals(2, FakeUpstream.calls("st-stall"));

        script(
                "st-stall",
                java.util.Collections.nCopies(10, FakeUpstream.Behaviour.STALL)
                        .toArray(FakeUpstream.Behaviour[]::new));
        int before = FakeUpstream.calls("st-stall");
        Response stalled = stream(key, "stalling", false);
        String body = stalled.asString();
        assertTrue(stalled.statusCode() >= 500, stalled.statusCode() + " " + body);
        assertTrue(body.contains("upstream_error"), body);
        assertFalse(body.contains("[DONE]"), body);
        assertTrue(
                FakeUpstream.calls("st-stall") > before,
                "the stalled attempts were cut and ended, not left hanging");
    }
}
