package io.flotilla.gateway;

import static io.flotilla.gateway.GatewayApi.chat;
import static io.flotilla.gateway.StreamingTest.data;
import static io.flotilla.gateway.StreamingTest.text;
import static io.flotilla.gateway.fake.FakeUpstream.recorded;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.gateway.fake.FakeUpstream;
import io.flotilla.gateway.fake.GatewayTestResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Anthropic Messages and Gemini generateContent, translated both ways, streaming and tools
 * included.
 */
@QuarkusTest
@QuarkusTestResource(GatewayTestResource.class)
class TranslationTest {

    private static final Map<String, Object> TOOL =
            Map.of(
                    "type",
                    "function",
                    "function",
                    Map.of(
                            "name",
                            "search",
                            "description",
                            "web search",
                            "parameters",
                            Map.of(
                                    "type",
                                    "object",
                                    "properties",
                                    Map.of("q", Map.of("type", "string")))));

    private static Map<String, Object> conversation(String model, boolean stream) {
        return Map.of(
                "model",
                model,
                "stream",
                stream,
                "max_tokens",
                300,
                "temperature",
                0.3,
                "messages",
                List.of(
                        Map.of("role", "system", "content", "Be brief."),
                        Map.of("role", "user", "content", "find x"),
                        Map.of(
                                "role",
                                "assistant",
                                "content",
                                "",
                                "tool_calls",
                                List.of(
                                        Map.of(
                                                "id",
                                                "call_9",
                                                "type",
                                                "function",
                                                "function",
                                                Map.of(
                                                        "name",
                                                        "search",
                                                        "arguments",
                                                        "{\"q\":\"x\"}")))),
                        Map.of("role", "tool", "tool_call_id", "call_9", "content", "x is 42"),
                        Map.of("role", "user", "content", "so?")),
                "tools",
                List.of(TOOL));
    }

    @Test
    void anthropicRequestIsTranslatedToMessages() {
        String key = GatewayApi.key("anthropic");
        chat(key, conversation("anthropic", false)).then().statusCode(200);
        JsonObject sent = last("claude-test").body();
        assertEquals("Be brief.", sent.getString("system"));
        assertEquals(300, sent.getInteger("max_tokens"));
        assertEquals(0.3, sent.getDouble("temperature"));
        var messages = sent.getJsonArray("messages");
        assertEquals(
                "tool_use",
                messages.getJsonObject(1)
                        .getJsonArray("content")
                        .getJsonObject(0)
                        .getString("type"));
        assertEquals(
                new JsonObject().put("q", "x"),
                messages.getJsonObject(1)
                        .getJsonArray("content")
                        .getJsonObject(0)
                        .getJsonObject("input"));
        assertEquals(
                "tool_result",
                messages.getJsonObject(2)
                        .getJsonArray("content")
                        .getJsonObject(0)
                        .getString("type"));
        assertEquals(
                "call_9",
                messages.getJsonObject(2)
                        .getJsonArray("content")
                        .getJsonObject(0)
                        .getString("tool_use_id"));
        assertEquals("search", sent.getJsonArray("tools").getJsonObject(0).getString("name"));
        assertTrue(sent.getJsonArray("tools").getJsonObject(0).containsKey("input_schema"));
        assertEquals("2023-06-01", last("claude-test").headers().get("anthropic-version"));
    }

    @Test
    void anthropicAnswersBecomeOpenAiCompletionsWithToolCallsAndUsage() {
        String key = GatewayApi.key("anthropic");
        chat(key, conversation("anthropic", false))
                .then()
                .statusCode(200)
                .body("object", equalTo("chat.completion"))
                .body("choices[0].finish_reason", equalTo("tool_calls"))
                .body("choices[0].message.content", equalTo("echo: so?"))
                .body("choices[0].message.tool_calls[0].function.name", equalTo("search"))
                .body(
                        "choices[0].message.tool_calls[0].function.arguments",
                        equalTo("{\"q\":\"x\"}"))
                .body("usage.prompt_tokens", equalTo(FakeUpstream.USAGE_IN))
                .body("usage.completion_tokens", equalTo(FakeUpstream.USAGE_OUT));
    }

    @Test
    void anthropicStreamEventsBecomeOpenAiChunks() throws Exception {
        String key = GatewayApi.key("anthropic");
        Map<String, Object> body = new java.util.HashMap<>(conversation("anthropic", true));
        body.put("stream_options", Map.of("include_usage", true));
        Response r = chat(key, body);
        r.then().statusCode(200);
        List<String> data = data(r.asString());
        assertEquals("[DONE]", data.get(data.size() - 1));
        assertEquals("echo: so?", text(data));
        String all = String.join("\n", data);
        assertTrue(all.contains("\"tool_calls\":[{\"index\":0,\"id\":\"toolu_1\""), all);
        assertTrue(all.contains("\"arguments\":\"{\\\"q\\\":\""), all);
        assertTrue(all.contains("\"finish_reason\":\"tool_calls\""), all);
        assertTrue(
                data.get(data.size() - 2)
                        .contains("\"completion_tokens\":" + FakeUpstream.USAGE_OUT),
                all);
    }

    @Test
    void geminiRequestIsTranslatedToGenerateContent() {
        String key = GatewayApi.key("gemini");
        chat(key, conversation("gemini", false)).then().statusCode(200);
        JsonObject sent = last("gemini-test").body();
        assertEquals(
                "Be brief.",
                sent.getJsonObject("systemInstruction")
                        .getJsonArray("parts")
                        .getJsonObject(0)
                        .getString("text"));
        var contents = sent.getJsonArray("contents");
        assertEquals("model", contents.getJsonObject(1).getString("role"));
        assertEquals(
                "search",
                contents.getJsonObject(1)
                        .getJsonArray("parts")
                        .getJsonObject(0)
                        .getJsonObject("functionCall")
                        .getString("name"));
        assertEquals(
                "search",
                contents.getJsonObject(2)
                        .getJsonArray("parts")
                        .getJsonObject(0)
                        .getJsonObject("functionResponse")
                        .getString("name"));
        assertEquals(300, sent.getJsonObject("generationConfig").getInteger("maxOutputTokens"));
        assertEquals(
                "search",
                sent.getJsonArray("tools")
                        .getJsonObject(0)
                        .getJsonArray("functionDeclarations")
                        .getJsonObject(0)
                        .getString("name"));
    }

    @Test
    void geminiAnswersAndStreamsBecomeOpenAiShapes() throws Exception {
        String key = GatewayApi.key("gemini");
        chat(key, conversation("gemini", false))
                .then()
                .statusCode(200)
                .body("choices[0].message.content", equalTo("echo: so?"))
                .body(
                        "choices[0].message.tool_calls[0].function.arguments",
                        equalTo("{\"q\":\"x\"}"))
                .body("choices[0].finish_reason", equalTo("tool_calls"))
                .body(
                        "usage.total_tokens",
                        equalTo(FakeUpstream.USAGE_IN + FakeUpstream.USAGE_OUT));

        Map<String, Object> body = new java.util.HashMap<>(conversation("gemini", true));
        body.put("stream_options", Map.of("include_usage", true));
        Response r = chat(key, body);
        List<String> data = data(r.asString());
        assertEquals("echo: so?", text(data));
        assertEquals("[DONE]", data.get(data.size() - 1));
        assertTrue(
                data.get(data.size() - 2).contains("\"prompt_tokens\":" + FakeUpstream.USAGE_IN),
                data.toString());
        assertTrue(last("gemini-test").headers().containsKey("content-type"));
    }

    @Test
    void providerErrorsOfEachFormatAreClassified() {
        String key = GatewayApi.key("anthropic", "gemerr");
        FakeUpstream.script("claude-test", FakeUpstream.Behaviour.BAD_REQUEST);
        chat(key, "anthropic", "x")
                .then()
                .statusCode(400)
                .body("error.message", org.hamcrest.Matchers.containsString("temperature"));
        FakeUpstream.script("gemini-err", FakeUpstream.Behaviour.E500, FakeUpstream.Behaviour.E500);
        chat(key, "gemerr", "x").then().statusCode(200).header("x-flotilla-attempts", "3");
    }

    private static FakeUpstream.Call last(String model) {
        List<FakeUpstream.Call> calls = recorded(model);
        return calls.get(calls.size() - 1);
    }
}
