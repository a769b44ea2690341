package io.flotilla.gateway;

import static io.flotilla.gateway.GatewayApi.chat;
import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.gateway.fake.FakeUpstream;
import io.flotilla.gateway.fake.GatewayTestResource;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
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
        // the caller's trace continues here (W3C traceparent)
        String callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
        String callerSpan = "00f067aa0ba902b7";
        given().header("Authorization", "Bearer " + key)
                .header("traceparent", "00-" + callerTrace + "-" + callerSpan + "-01")
                .contentType(ContentType.JSON)
                .body(
                        Map.of(
                                "model",
                                "traced",
                                "messages",
                                List.of(
                                        Map.of(
                                                "role",
                                                "user",
                                                "content",
                                                "another secret prompt"))))
                .post("/v1/chat/completions")
                .then()
                .statusCode(200);

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
        assertEquals("POST /v1/chat/completions", request.getName());
        assertEquals(callerTrace, request.getTraceId());
        assertEquals(callerSpan, request.getParentSpanId());
        assertEquals(
                200L,
                request.getAttributes().get(AttributeKey.longKey("http.response.status_code")));
        assertEquals(
                "/v1/chat/completions",
                request.getAttributes().get(AttributeKey.stringKey("http.route")));
        assertEquals(
                "POST", request.getAttributes().get(AttributeKey.stringKey("http.request.method")));
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

    @Test
    void adminRequestsGetAServerSpanNamedByTheirTemplateAndManagementPathsNone() {
        exporter.reset();
        given().header("Authorization", "Bearer test-gateway-admin")
                .get("/admin/v1/tenants/no-such-tenant/keys")
                .then()
                .statusCode(200);
        given().get("/q/health/ready").then().statusCode(200);

        // other tests' spans may still arrive: these are found by path and model
        SpanData admin =
                await().atMost(Duration.ofSeconds(5))
                        .until(
                                () -> span("url.path", "/admin/v1/tenants/no-such-tenant/keys"),
                                Objects::nonNull);
        assertEquals(SpanKind.SERVER, admin.getKind());
        assertEquals("GET /admin/v1/tenants/{tenant}/keys", admin.getName());
        assertEquals(
                200L, admin.getAttributes().get(AttributeKey.longKey("http.response.status_code")));
        // a request after the probe: once its span is in, the probe's would be too
        chat(GatewayApi.key("traced"), "traced", "a later request").then().statusCode(200);
        await().atMost(Duration.ofSeconds(5))
                .until(() -> span("gen_ai.request.model", "traced"), Objects::nonNull);
        assertNull(span("url.path", "/q/health/ready"), "no spans for management paths");
    }

    private SpanData span(String attribute, String value) {
        return exporter.getFinishedSpanItems().stream()
                .filter(s -> value.equals(s.getAttributes().get(AttributeKey.stringKey(attribute))))
                .findFirst()
                .orElse(null);
    }
}
