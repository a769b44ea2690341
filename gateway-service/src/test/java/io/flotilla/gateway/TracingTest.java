package io.flotilla.gateway;

import static io.flotilla.gateway.GatewayApi.chat;
import static io.opentelemetry.api.common.AttributeKey.longKey;
import static io.opentelemetry.api.common.AttributeKey.stringKey;
import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.gateway.fake.FakeUpstream;
import io.flotilla.gateway.fake.GatewayTestResource;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
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

/**
 * The gateway's spans: one per request with the GenAI attributes and usage, one more per failed
 * upstream call, and nothing of the prompt or the key.
 */
@QuarkusTest
@QuarkusTestResource(GatewayTestResource.class)
class TracingTest {

    @Inject InMemorySpanExporter exporter;

    @Test
    void aRequestAnsweredAtTheFirstTryIsOneSpanWithGenAiAttributesButNoPromptOrKey() {
        String key = GatewayApi.key("traced");
        exporter.reset();
        // the caller's trace continues here (W3C traceparent)
        String callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
        String callerSpan = "00f067aa0ba902b7";
        traced(key, callerTrace, callerSpan, "another secret prompt").then().statusCode(200);

        SpanData request = answered(callerTrace);
        assertEquals(SpanKind.SERVER, request.getKind());
        assertEquals("POST /v1/chat/completions", request.getName());
        assertEquals(callerSpan, request.getParentSpanId());
        assertEquals(200L, request.getAttributes().get(longKey("http.response.status_code")));
        assertEquals("/v1/chat/completions", request.getAttributes().get(stringKey("http.route")));
        assertEquals("POST", request.getAttributes().get(stringKey("http.request.method")));
        assertEquals("chat", request.getAttributes().get(stringKey("gen_ai.operation.name")));
        assertEquals("traced", request.getAttributes().get(stringKey("gen_ai.request.model")));
        assertEquals("tr-model", request.getAttributes().get(stringKey("gen_ai.response.model")));
        assertEquals(
                FakeUpstream.USAGE_IN,
                request.getAttributes().get(longKey("gen_ai.usage.input_tokens")));
        assertEquals(
                FakeUpstream.USAGE_OUT,
                request.getAttributes().get(longKey("gen_ai.usage.output_tokens")));
        // the call that answered, described on the request span
        assertEquals("openai", request.getAttributes().get(stringKey("gen_ai.system")));
        assertEquals("127.0.0.1", request.getAttributes().get(stringKey("server.address")));
        assertEquals("fake/tr-model", request.getAttributes().get(stringKey("flotilla.target")));
        assertEquals(
                List.of(request),
                inTrace(callerTrace),
                "one span for a request answered at the first try (no attempt span, no SQL spans)");

        String everything = exporter.getFinishedSpanItems().toString();
        assertTrue(
                !everything.contains("secret prompt") && !everything.contains(key),
                "no prompt text or key in spans");
    }

    @Test
    void eachFailedCallIsAClientSpanUnderTheRequestFromItsStartToItsEnd() {
        String key = GatewayApi.key("traced");
        FakeUpstream.script("tr-model", FakeUpstream.Behaviour.E500); // then answers: a retry
        String trace = "5cf92f3577b34da6a3ce929d0e0e4737";
        traced(key, trace, "00f067aa0ba902b8", "retried").then().statusCode(200);

        SpanData request = answered(trace);
        List<SpanData> failed =
                inTrace(trace).stream().filter(s -> s.getKind() == SpanKind.CLIENT).toList();
        assertEquals(1, failed.size(), "one failed call: " + inTrace(trace));
        SpanData call = failed.get(0);
        assertEquals("chat tr-model", call.getName());
        assertEquals(request.getSpanId(), call.getParentSpanId());
        assertEquals(StatusCode.ERROR, call.getStatus().getStatusCode());
        assertEquals("server_error(500)", call.getAttributes().get(stringKey("error.type")));
        assertEquals("openai", call.getAttributes().get(stringKey("gen_ai.system")));
        assertEquals("tr-model", call.getAttributes().get(stringKey("gen_ai.request.model")));
        assertTrue(
                request.getStartEpochNanos() <= call.getStartEpochNanos()
                        && call.getStartEpochNanos() < call.getEndEpochNanos()
                        && call.getEndEpochNanos() <= request.getEndEpochNanos(),
                "the failed call's span lies within the request's: " + request + " " + call);
        // the retry answered: the request span is not failed and describes the answering call
        assertEquals(StatusCode.UNSET, request.getStatus().getStatusCode());
        assertEquals("fake/tr-model", request.getAttributes().get(stringKey("flotilla.target")));
        assertEquals(
                2, inTrace(trace).size(), "the request and its failed call: " + inTrace(trace));

        // a request that fails with its only call: the call's span and a failed request span
        FakeUpstream.script("tr-model", FakeUpstream.Behaviour.BAD_REQUEST); // not retried
        String rejected = "6df92f3577b34da6a3ce929d0e0e4738";
        traced(key, rejected, "00f067aa0ba902b9", "rejected").then().statusCode(400);
        SpanData refused =
                await().atMost(Duration.ofSeconds(5))
                        .until(
                                () ->
                                        inTrace(rejected).stream()
                                                .filter(s -> s.getKind() == SpanKind.SERVER)
                                                .findFirst()
                                                .orElse(null),
                                Objects::nonNull);
        assertEquals(400L, refused.getAttributes().get(longKey("http.response.status_code")));
        SpanData badCall =
                inTrace(rejected).stream()
                        .filter(s -> s.getKind() == SpanKind.CLIENT)
                        .findFirst()
                        .orElseThrow();
        assertEquals(refused.getSpanId(), badCall.getParentSpanId());
        assertEquals("rejected(400)", badCall.getAttributes().get(stringKey("error.type")));
    }

    private static io.restassured.response.Response traced(
            String key, String trace, String parent, String prompt) {
        return given().header("Authorization", "Bearer " + key)
                .header("traceparent", "00-" + trace + "-" + parent + "-01")
                .contentType(ContentType.JSON)
                .body(
                        Map.of(
                                "model",
                                "traced",
                                "messages",
                                List.of(Map.of("role", "user", "content", prompt))))
                .post("/v1/chat/completions");
    }

    /** The server span of the request in {@code trace}, once it carries the answer's usage. */
    private SpanData answered(String trace) {
        return await().atMost(Duration.ofSeconds(5))
                .until(
                        () ->
                                inTrace(trace).stream()
                                        .filter(
                                                s ->
                                                        s.getKind() == SpanKind.SERVER
                                                                && s.getAttributes()
                                                                                .get(
                                                                                        stringKey(
                                                                                                "gen_ai.response.model"))
                                                                        != null)
                                        .findFirst()
                                        .orElse(null),
                        Objects::nonNull);
    }

    private List<SpanData> inTrace(String trace) {
        return exporter.getFinishedSpanItems().stream()
                .filter(s -> s.getTraceId().equals(trace))
                .toList();
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
        assertEquals(200L, admin.getAttributes().get(longKey("http.response.status_code")));
        // a request after the probe: once its span is in, the probe's would be too
        chat(GatewayApi.key("traced"), "traced", "a later request").then().statusCode(200);
        await().atMost(Duration.ofSeconds(5))
                .until(() -> span("gen_ai.request.model", "traced"), Objects::nonNull);
        assertNull(span("url.path", "/q/health/ready"), "no spans for management paths");
    }

    private SpanData span(String attribute, String value) {
        return exporter.getFinishedSpanItems().stream()
                .filter(s -> value.equals(s.getAttributes().get(stringKey(attribute))))
                .findFirst()
                .orElse(null);
    }
}
