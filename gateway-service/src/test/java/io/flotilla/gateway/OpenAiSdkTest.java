package io.flotilla.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.PermissionDeniedException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import io.flotilla.gateway.fake.FakeUpstream;
import io.flotilla.gateway.fake.GatewayTestResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** OpenAI's official Java SDK, unchanged, pointed at the gateway. */
@QuarkusTest
@QuarkusTestResource(GatewayTestResource.class)
class OpenAiSdkTest {

    @TestHTTPResource("/v1")
    URI v1;

    private OpenAIClient client(String key) {
        return OpenAIOkHttpClient.builder()
                .apiKey(key)
                .baseUrl(v1.toString())
                .maxRetries(0)
                .build();
    }

    @Test
    void completionThroughTheSdk() {
        OpenAIClient client = client(GatewayApi.key("sdk"));
        ChatCompletion completion =
                client.chat()
                        .completions()
                        .create(
                                ChatCompletionCreateParams.builder()
                                        .model("sdk")
                                        .addUserMessage("hello gateway")
                                        .temperature(0.2)
                                        .build());
        assertEquals(
                "echo: hello gateway",
                completion.choices().get(0).message().content().orElseThrow());
        assertEquals(
                FakeUpstream.USAGE_IN + FakeUpstream.USAGE_OUT,
                completion.usage().orElseThrow().totalTokens());
        assertEquals(
                0.2,
                FakeUpstream.recorded("sdk-model")
                        .get(FakeUpstream.recorded("sdk-model").size() - 1)
                        .body()
                        .getDouble("temperature"),
                "parameters pass through faithfully");
    }

    @Test
    void streamThroughTheSdkWithUsage() {
        OpenAIClient client = client(GatewayApi.key("sdk"));
        List<ChatCompletionChunk> chunks = new ArrayList<>();
        try (StreamResponse<ChatCompletionChunk> stream =
                client.chat()
                        .completions()
                        .createStreaming(
                                ChatCompletionCreateParams.builder()
                                        .model("sdk")
                                        .addUserMessage("stream me")
                                        .streamOptions(
                                                ChatCompletionStreamOptions.builder()
                                                        .includeUsage(true)
                                                        .build())
                                        .build())) {
            stream.stream().forEach(chunks::add);
        }
        StringBuilder text = new StringBuilder();
        chunks.forEach(
                c -> c.choices().forEach(ch -> ch.delta().content().ifPresent(text::append)));
        assertEquals("echo: stream me", text.toString());
        assertTrue(
                chunks.get(chunks.size() - 1).usage().isPresent(),
                "the usage chunk the caller asked for arrives last");
    }

    @Test
    void errorsAreTypedSdkExceptions() {
        OpenAIClient client = client(GatewayApi.key("sdk"));
        NotFoundException missing =
                assertThrows(
                        NotFoundException.class,
                        () ->
                                client.chat()
                                        .completions()
                                        .create(
                                                ChatCompletionCreateParams.builder()
                                                        .model("gpt-nope")
                                                        .addUserMessage("x")
                                                        .build()));
        assertEquals("model_not_found", missing.code().orElseThrow());
        assertTrue(
                missing.getMessage().contains("available to this key: sdk"), missing.getMessage());

        assertThrows(
                PermissionDeniedException.class,
                () ->
                        client.chat()
                                .completions()
                                .create(
                                        ChatCompletionCreateParams.builder()
                                                .model("fallback")
                                                .addUserMessage("x")
                                                .build()));
        assertThrows(
                UnauthorizedException.class,
                () ->
                        client("flt_not-a-key")
                                .chat()
                                .completions()
                                .create(
                                        ChatCompletionCreateParams.builder()
                                                .model("sdk")
                                                .addUserMessage("x")
                                                .build()));
        FakeUpstream.script("sdk-model", FakeUpstream.Behaviour.BAD_REQUEST);
        BadRequestException bad =
                assertThrows(
                        BadRequestException.class,
                        () ->
                                client.chat()
                                        .completions()
                                        .create(
                                                ChatCompletionCreateParams.builder()
                                                        .model("sdk")
                                                        .addUserMessage("x")
                                                        .build()));
        assertTrue(
                bad.getMessage().contains("temperature"),
                "the provider's reason reaches the caller: " + bad.getMessage());
    }
}
