package io.flotilla.gateway;

import static io.restassured.RestAssured.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.gateway.fake.FakeUpstream;
import io.flotilla.gateway.fake.GatewayTestResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Idempotency-Key per virtual key: a repeat is answered from the first request's response, with no
 * second upstream call and no second charge.
 */
@QuarkusTest
@QuarkusTestResource(GatewayTestResource.class)
class IdempotencyTest {

    static final String MODEL = "sdk-model";

    static Response chat(GatewayApi.Key key, String idempotencyKey, String body) {
        var spec =
                given().header("Authorization", "Bearer " + key.secret())
                        .contentType("application/json");
        if (idempotencyKey != null) {
            spec = spec.header("Idempotency-Key", idempotencyKey);
        }
        return spec.body(body).post("/v1/chat/completions");
    }

    static String ask(String text, boolean stream) {
        return "{\"model\":\"sdk\",\"stream\":"
                + stream
                + ",\"stream_options\":{\"include_usage\":true},\"max_tokens\":50,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\""
                + text
                + "\"}]}";
    }

    @Test
    void aRepeatGetsTheFirstAnswerWithoutASecondCallOrCharge() {
        GatewayApi.Key key = GatewayApi.newKey("sdk");
        String idem = UUID.randomUUID().toString();
        int before = FakeUpstream.calls(MODEL);

        Response first = chat(key, idem, ask("once only", false));
        Response again = chat(key, idem, ask("once only", false));

        first.then().statusCode(200);
        again.then().statusCode(200).header("Idempotent-Replayed", "true");
        assertNull(first.header("Idempotent-Replayed"));
        assertEquals(first.asString(), again.asString());
        assertEquals(first.header("x-flotilla-cost-usd"), again.header("x-flotilla-cost-usd"));
        assertEquals(1, FakeUpstream.calls(MODEL) - before, "one upstream call");
        Awaitility.await()
                .atMost(Duration.ofSeconds(10))
                .until(() -> !GatewayApi.usage(key, "model").isEmpty());
        assertEquals(
                1,
                ((Number) GatewayApi.usage(key, "model").get(0).get("requests")).intValue(),
                "charged once");

        // the key is the virtual key's: another key's same Idempotency-Key is its own request
        GatewayApi.Key other = GatewayApi.newKey("sdk");
        chat(other, idem, ask("once only", false)).then().statusCode(200);
        assertEquals(2, FakeUpstream.calls(MODEL) - before);
    }

    @Test
    void theSameKeyWithAnotherBodyIsRefused() {
        GatewayApi.Key key = GatewayApi.newKey("sdk");
        String idem = UUID.randomUUID().toString();
        chat(key, idem, ask("first body", false)).then().statusCode(200);

        Response other = chat(key, idem, ask("another body", false));

        other.then().statusCode(422);
        assertEquals("idempotency_key_reused", other.path("error.code"));
    }

    @Test
    void aRepeatWhileTheFirstRunsWaitsForItsAnswer() throws Exception {
        GatewayApi.Key key = GatewayApi.newKey("sdk");
        String idem = UUID.randomUUID().toString();
        FakeUpstream.slow(1500);
        FakeUpstream.script(MODEL, FakeUpstream.Behaviour.SLOW);
        int before = FakeUpstream.calls(MODEL);

        CompletableFuture<Response> first =
                CompletableFuture.supplyAsync(() -> chat(key, idem, ask("slow one", false)));
        Awaitility.await()
                .atMost(Duration.ofSeconds(5))
                .until(() -> FakeUpstream.calls(MODEL) > before);
        Response repeat = chat(key, idem, ask("slow one", false));

        repeat.then().statusCode(200).header("Idempotent-Replayed", "true");
        assertEquals(first.get().asString(), repeat.asString());
        assertEquals(1, FakeUpstream.calls(MODEL) - before);
    }

    @Test
    void aStreamIsReplayedAsTheClientReceivedIt() {
        GatewayApi.Key key = GatewayApi.newKey("sdk");
        String idem = UUID.randomUUID().toString();
        int before = FakeUpstream.calls(MODEL);

        String first =
                chat(key, idem, ask("stream me once", true))
                        .then()
                        .statusCode(200)
                        .extract()
                        .asString();
        Response again = chat(key, idem, ask("stream me once", true));

        again.then()
                .statusCode(200)
                .header("Idempotent-Replayed", "true")
                .contentType(org.hamcrest.Matchers.startsWith("text/event-stream"));
        assertEquals(first, again.asString());
        assertTrue(first.contains("\"content\":\"am me once\""), first);
        assertTrue(first.endsWith("data: [DONE]\n\n"), first);
        assertEquals(1, FakeUpstream.calls(MODEL) - before);
    }

    @Test
    void aFailedFirstRequestLeavesTheKeyFreeForARetry() {
        GatewayApi.Key key = GatewayApi.newKey("sdk");
        String idem = UUID.randomUUID().toString();
        FakeUpstream.script(MODEL, FakeUpstream.Behaviour.BAD_REQUEST);
        int before = FakeUpstream.calls(MODEL);

        chat(key, idem, ask("try twice", false)).then().statusCode(400);
        Response retry = chat(key, idem, ask("try twice", false));

        retry.then().statusCode(200);
        assertNull(retry.header("Idempotent-Replayed"));
        assertEquals(2, FakeUpstream.calls(MODEL) - before);
    }
}
