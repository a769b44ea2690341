package io.flotilla.gateway;

import static io.flotilla.gateway.GatewayApi.chat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.gateway.fake.FakeUpstream;
import io.flotilla.gateway.fake.GatewayTestResource;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** GenAI spans per request and per attempt, with usage, and nothing of the prompt or the key. */
@QuarkusTest
@QuarkusTestResource(GatewayTestResource.class)
class TracingTest {

    @Inject InMemorySpanExporter exporter;

    @Test
    void requestAndAttemptSpansCarryGenAiAttributesButNoPromptOrKey() {
        String key = GatewayApi.key("traced");
        FakeUpstream.script(
                "tr-model",
                FakeUpstream.Behaviour.BAD_REQUEST); // rejected: no fallback, one failed attempt
        chat(key, "traced", "secret prompt text").then().statusCode(400);
        exporter.reset();
        chat(key, "traced", "another secret prompt").then().statusCode(200);

        await().atMost(Duration.ofSeconds(5))
                .until(
                        () ->
                                exporter.getFinishedSpanItems().stream()
                                        .anyMatch(
                                                s ->
                                                        s.getKind() == SpanKind.SERVER
                                                                && s.getAttributes()
                                                                                .get(
                                                                                        AttributeKey
                                                                                                .stringKey(
                                                                                                        "gen_ai.response.model"))
                                                                        != null));
        List<SpanData> spans = exporter.getFinishedSpanItems();
        SpanData request =
                spans.stream()
                        .filter(
                                s ->
                                        s.getKind() == SpanKind.SERVER
                                                && s.getAttributes()
                                                                .get(
                                                                        AttributeKey.stringKey(
                                                                                "gen_ai.response.model"))
                                                        != null)
                        .findFirst()
                        .orElseThrow();
        assertEquals(
                "chat",
                request.getAttributes().get(AttributeKey.stringKey("gen_ai.operation.name")));
        assertEquals(
                "traced",
                request.getAttributes().get(AttributeKey.stringKey("gen_ai.request.model")));
        assertEquals(
                "tr-model",
                request.getAttributes().get(AttributeKey.stringKey("gen_ai.response.model")));
        assertEquals(
                FakeUpstream.USAGE_IN,
                request.getAttributes().get(AttributeKey.longKey("gen_ai.usage.input_tokens")));
        assertEquals(
                FakeUpstream.USAGE_OUT,
                request.getAttributes().get(AttributeKey.longKey("gen_ai.usage.output_tokens")));

        SpanData attempt =
                spans.stream()
                        .filter(
                                s ->
                                        s.getName().equals("chat tr-model")
                                                && s.getParentSpanId().equals(request.getSpanId()))
                        .findFirst()
                        .orElseThrow();
        assertEquals(
                "openai", attempt.getAttributes().get(AttributeKey.stringKey("gen_ai.system")));
        assertEquals(request.getTraceId(), attempt.getTraceId());
        assertEquals(
                "127.0.0.1", attempt.getAttributes().get(AttributeKey.stringKey("server.address")));

        assertTrue(
                spans.stream()
                        .filter(s -> s.getTraceId().equals(request.getTraceId()))
                        .allMatch(s -> s == request || s == attempt),
                "two spans per request (no separate request span, no SQL spans): " + spans);

        String everything = spans.toString();
        assertTrue(
                !everything.contains("secret prompt") && !everything.contains(key),
                "no prompt text or key in spans");
    }
}
