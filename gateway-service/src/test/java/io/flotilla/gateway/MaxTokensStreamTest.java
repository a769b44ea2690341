package io.flotilla.gateway;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import io.flotilla.gateway.fake.FakeUpstream;
import io.flotilla.gateway.fake.GatewayTestResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A stream that keeps to its {@code max_tokens} ends cleanly, whatever the upstream's tokenizer:
 * the official OpenAI SDK asks for n tokens, the in-test upstream streams exactly n tokens of
 * another tokenizer (cl100k_base), one per chunk with leading spaces, accents and CJK, and reports
 * them; the gateway must not cut it and must settle exactly the reported usage.
 */
@QuarkusTest
@QuarkusTestResource(GatewayTestResource.class)
class MaxTokensStreamTest {

    @TestHTTPResource("/v1")
    URI v1;

    @ParameterizedTest
    @ValueSource(ints = {1, 8, 12, 100, 1000})
    void aStreamOfExactlyMaxTokensEndsCleanlyAndSettlesTheUpstreamsUsage(int maxTokens) {
        GatewayApi.Key key = GatewayApi.newKey("sdk");
        OpenAIClient client =
                OpenAIOkHttpClient.builder()
                        .apiKey(key.secret())
                        .baseUrl(v1.toString())
                        .maxRetries(0)
                        .build();
        FakeUpstream.script("sdk-model", FakeUpstream.Behaviour.EXACT_MAX_TOKENS);
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream =
                client.chat()
                        .completions()
                        .createStreaming(
                                ChatCompletionCreateParams.builder()
                                        .model("sdk")
                                        .addUserMessage("tell me about tide pools")
                                        .maxTokens(maxTokens)
                                        .streamOptions(
                                                ChatCompletionStreamOptions.builder()
                                                        .includeUsage(true)
                                                        .build())
                                        .build())) {
            stream.stream().forEach(chunks::add); // an error event would throw here
        }

        ChatCompletionChunk last = chunks.get(chunks.size() - 1);
        assertEquals(maxTokens, last.usage().orElseThrow().completionTokens());
        assertTrue(
                chunks.stream()
                        .anyMatch(
                                c ->
                                        c.choices().stream()
                                                .anyMatch(
                                                        ch ->
                                                                ch.finishReason()
                                                                        .map(
                                                                                f ->
                                                                                        f.asString()
                                                                                                .equals(
                                                                                                        "length"))
                                                                        .orElse(false))),
                "the upstream's own end (finish_reason length) came through");
        assertEquals(
                maxTokens,
                FakeUpstream.recorded("sdk-model")
                        .get(FakeUpstream.recorded("sdk-model").size() - 1)
                        .body()
                        .getInteger("max_tokens"),
                "the upstream was sent the max_tokens asked for");
        Awaitility.await("the settlement in the ledger")
                .atMost(Duration.ofSeconds(10))
                .until(() -> !GatewayApi.usage(key, "model").isEmpty());
        Map<String, Object> settled = GatewayApi.usage(key, "model").get(0);
        assertEquals(maxTokens, ((Number) settled.get("outputTokens")).intValue());
        assertEquals(FakeUpstream.USAGE_IN, ((Number) settled.get("inputTokens")).intValue());
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 8, 12, 100})
    void theBuiltInMockStreamsToDoneWithoutABudget(int maxTokens) {
        String body =
                given().header("Authorization", "Bearer " + GatewayApi.key("fast"))
                        .contentType("application/json")
                        .body(
                                "{\"model\":\"fast\",\"stream\":true,\"max_tokens\":"
                                        + maxTokens
                                        + ",\"messages\":[{\"role\":\"user\",\"content\":"
                                        + "\"write a long story about tide pools\"}]}")
                        .post("/v1/chat/completions")
                        .then()
                        .statusCode(200)
                        .extract()
                        .asString();
        assertTrue(body.endsWith("data: [DONE]\n\n"), body);
        assertTrue(!body.contains("budget_exhausted"), body);
    }
}
