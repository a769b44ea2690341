package io.flotilla.gateway;

import static io.flotilla.gateway.GatewayApi.chat;
import static io.flotilla.gateway.fake.FakeUpstream.Behaviour.BAD_REQUEST;
import static io.flotilla.gateway.fake.FakeUpstream.Behaviour.CONTEXT_LENGTH;
import static io.flotilla.gateway.fake.FakeUpstream.Behaviour.E500;
import static io.flotilla.gateway.fake.FakeUpstream.Behaviour.R429;
import static io.flotilla.gateway.fake.FakeUpstream.Behaviour.RESET;
import static io.flotilla.gateway.fake.FakeUpstream.Behaviour.SLOW;
import static io.flotilla.gateway.fake.FakeUpstream.calls;
import static io.flotilla.gateway.fake.FakeUpstream.script;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.gateway.fake.FakeUpstream;
import io.flotilla.gateway.fake.GatewayTestResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

/**
 * Fallback triggers, retry bounds, Retry-After, breakers, context windows and auto routing, against
 * the fake upstream. Test settings: 2 retries per target, backoff 10-50 ms, breaker of 4 calls at
 * 50% with a 1 s delay and 1 trial success.
 */
@QuarkusTest
@QuarkusTestResource(GatewayTestResource.class)
class RoutingTest {

    @Test
    void serverErrorsAreRetriedUpToTheBoundThenTheNextTargetAnswers() {
        String key = GatewayApi.key("fallback");
        script("fb-primary", E500, E500, E500);
        chat(key, "fallback", "hi")
                .then()
                .statusCode(200)
                .header("x-flotilla-model", "fb-backup")
                .header("x-flotilla-attempts", "4")
                .header("x-flotilla-fallbacks", "fake/fb-primary=server_error(500)")
                .body("choices[0].message.content", equalTo("echo: hi"));
        assertEquals(3, calls("fb-primary"), "1 call + 2 retries, then fall back");
    }

    @Test
    void retriesStopAtTheBoundAndTheCallerGetsAClear502() {
        String key = GatewayApi.key("retry");
        script("rt-only", E500, E500, E500);
        int before = calls("rt-only");
        chat(key, "retry", "hi")
                .then()
                .statusCode(502)
                .body("error.type", equalTo("api_error"))
                .body(
                        "error.message",
                        containsString(
                                "every target of 'retry' failed (fake/rt-only=server_error(500))"));
        assertEquals(3, calls("rt-only") - before, "1 call + 2 retries, no more");
    }

    @Test
    void retryAfterOfA429IsHonoured() {
        String key = GatewayApi.key("after");
        FakeUpstream.retryAfter(1);
        script("ra-only", R429);
        long start = System.nanoTime();
        chat(key, "after", "hi").then().statusCode(200).header("x-flotilla-attempts", "2");
        long waited = (System.nanoTime() - start) / 1_000_000;
        assertTrue(waited >= 950, "waited " + waited + " ms for Retry-After: 1");
    }

    @Test
    void aRetryAfterLongerThanTheCapFallsBackAt429WithRetryAfter() {
        String key = GatewayApi.key("after");
        FakeUpstream.retryAfter(30);
        script("ra-only", R429);
        try {
            Response r = chat(key, "after", "hi");
            r.then()
                    .statusCode(429)
                    .body("error.code", equalTo("rate_limit_exceeded"))
                    .header("Retry-After", "30");
        } finally {
            FakeUpstream.retryAfter(1);
        }
    }

    @Test
    void rateLimitedTargetFallsBackToTheNext() {
        String key = GatewayApi.key("ratelimit");
        FakeUpstream.retryAfter(30); // longer than the gateway waits: fall back instead
        script("rl-primary", R429);
        try {
            chat(key, "ratelimit", "hi")
                    .then()
                    .statusCode(200)
                    .header("x-flotilla-model", "rl-backup")
                    .header("x-flotilla-fallbacks", "fake/rl-primary=rate_limited(429)");
        } finally {
            FakeUpstream.retryAfter(1);
        }
    }

    @Test
    void prometheusCountsRequestsTokensAndFallbacksWithBoundedLabels() {
        String key = GatewayApi.key("fast");
        chat(key, "fast", "count me").then().statusCode(200);
        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertTrue(
                metrics.contains("flotilla_gateway_requests_seconds_count{alias=\"fast\""),
                "requests by alias");
        assertTrue(
                metrics.contains("flotilla_gateway_tokens_total{alias=\"fast\",type=\"input\"}"),
                "tokens by alias");
        assertTrue(
                metrics.contains(
                        "flotilla_gateway_upstream_seconds_count{outcome=\"ok\",target=\"mock/mock-fast\"}"),
                "upstream latency");
        assertTrue(!metrics.contains("count me"), "no prompt text in metrics");
    }

    @Test
    void timeoutFallsBack() {
        String key = GatewayApi.key("timeout");
        FakeUpstream.slow(2000);
        script("to-primary", SLOW, SLOW, SLOW);
        chat(key, "timeout", "hi")
                .then()
                .statusCode(200)
                .header("x-flotilla-model", "to-backup")
                .header("x-flotilla-fallbacks", "fake/to-primary=timeout");
    }

    @Test
    void connectionResetFallsBack() {
        String key = GatewayApi.key("reset");
        script("rs-primary", RESET, RESET, RESET);
        chat(key, "reset", "hi")
                .then()
                .statusCode(200)
                .header("x-flotilla-model", "rs-backup")
                .header("x-flotilla-fallbacks", containsString("fake/rs-primary=connection"));
    }

    @Test
    void contextLengthErrorFallsBackAtOnceWithoutRetry() {
        String key = GatewayApi.key("ctxerr");
        script("ce-primary", CONTEXT_LENGTH);
        int before = calls("ce-primary");
        chat(key, "ctxerr", "hi")
                .then()
                .statusCode(200)
                .header("x-flotilla-model", "ce-backup")
                .header("x-flotilla-attempts", "2");
        assertEquals(1, calls("ce-primary") - before);
    }

    @Test
    void aRequestTheProviderRejectsIsTheCallersErrorAndDoesNotFallBack() {
        String key = GatewayApi.key("rejected");
        script("rj-primary", BAD_REQUEST);
        int backup = calls("rj-backup");
        chat(key, "rejected", "hi")
                .then()
                .statusCode(400)
                .body("error.message", containsString("temperature"));
        assertEquals(backup, calls("rj-backup"));
    }

    @Test
    void breakerOpensThenHalfOpensThenCloses() {
        String key = GatewayApi.key("breaker");
        // 4 failing calls fill the window at 100% failure: the breaker opens
        script("br-main", E500, E500, E500, E500);
        chat(key, "breaker", "one").then().statusCode(200).header("x-flotilla-model", "br-spare");
        chat(key, "breaker", "two").then().statusCode(200).header("x-flotilla-model", "br-spare");
        assertEquals("open", health().get("fake/br-main"));
        int mainCalls = calls("br-main");
        chat(key, "breaker", "three")
                .then()
                .statusCode(200)
                .header("x-flotilla-model", "br-spare")
                .header("x-flotilla-fallbacks", "fake/br-main=breaker-open");
        assertEquals(mainCalls, calls("br-main"), "an open breaker does not call the target");

        // after the delay one trial call goes through (half-open); its success closes the breaker
        Awaitility.await()
                .pollDelay(Duration.ofMillis(1100))
                .atMost(Duration.ofSeconds(3))
                .until(() -> true);
        chat(key, "breaker", "four").then().statusCode(200).header("x-flotilla-model", "br-main");
        assertEquals("closed", health().get("fake/br-main"));
    }

    @Test
    void targetsWhoseContextWindowIsTooSmallAreSkipped() {
        String key = GatewayApi.key("window", "tiny");
        int small = calls("cw-small");
        chat(
                        key,
                        Map.of(
                                "model",
                                "window",
                                "max_tokens",
                                150,
                                "messages",
                                List.of(Map.of("role", "user", "content", "word ".repeat(120)))))
                .then()
                .statusCode(200)
                .header("x-flotilla-model", "cw-large");
        assertEquals(small, calls("cw-small"), "the small target was never called");
        chat(
                        key,
                        Map.of(
                                "model",
                                "window",
                                "max_tokens",
                                10,
                                "messages",
                                List.of(Map.of("role", "user", "content", "short"))))
                .then()
                .statusCode(200)
                .header("x-flotilla-model", "cw-small");

        int tiny = calls("tiny-only");
        chat(
                        key,
                        Map.of(
                                "model",
                                "tiny",
                                "max_tokens",
                                100,
                                "messages",
                                List.of(Map.of("role", "user", "content", "hello"))))
                .then()
                .statusCode(400)
                .body("error.code", equalTo("context_length_exceeded"))
                .body(
                        "error.message",
                        containsString("largest context window of 'tiny' is 50 tokens"));
        assertEquals(tiny, calls("tiny-only"), "refused before calling anyone");
    }

    @Test
    void autoNeverPicksAModelTheKeyMayNotUse() {
        String cheapOnly = GatewayApi.key("auto", "fast");
        chat(cheapOnly, "auto", "Please analyze this contract")
                .then()
                .statusCode(200)
                .header("x-flotilla-route", "auto->fast");
        String autoOnly = GatewayApi.key("auto");
        chat(autoOnly, "auto", "What is the capital of France?")
                .then()
                .statusCode(403)
                .body("error.code", equalTo("model_not_allowed"))
                .body("error.message", containsString("may use neither"));
    }

    @Test
    void onlyKnownFieldsAreForwardedAndNMustBeOne() {
        String key = GatewayApi.key("fast");
        given().header("Authorization", "Bearer " + key)
                .contentType(ContentType.JSON)
                .body(
                        Map.of(
                                "model", "fast",
                                "service_tier", "priority",
                                "messages", List.of(Map.of("role", "user", "content", "hi"))))
                .post("/v1/chat/completions")
                .then()
                .statusCode(400)
                .body("error.param", equalTo("service_tier"))
                .body("error.message", containsString("unsupported parameter 'service_tier'"));
        given().header("Authorization", "Bearer " + key)
                .contentType(ContentType.JSON)
                .body(
                        Map.of(
                                "model",
                                "fast",
                                "n",
                                4,
                                "messages",
                                List.of(Map.of("role", "user", "content", "hi"))))
                .post("/v1/chat/completions")
                .then()
                .statusCode(400)
                .body("error.param", equalTo("n"))
                .body("error.message", containsString("reserves budget for one completion"));
    }

    @Test
    void autoSendsShortPlainPromptsToTheCheapModelAndTheRestToTheStrongOne() {
        String key = GatewayApi.key("auto", "fast", "smart");
        chat(key, "auto", "What is the capital of France?")
                .then()
                .statusCode(200)
                .header("x-flotilla-route", "auto->fast")
                .header("x-flotilla-model", "mock-fast");
        chat(key, "auto", "Please analyze this contract")
                .then()
                .statusCode(200)
                .header("x-flotilla-route", "auto->smart");
        chat(key, "auto", "long ".repeat(200))
                .then()
                .statusCode(200)
                .header("x-flotilla-route", "auto->smart");
        chat(
                        key,
                        Map.of(
                                "model",
                                "auto",
                                "messages",
                                List.of(Map.of("role", "user", "content", "hi")),
                                "tools",
                                List.of(
                                        Map.of(
                                                "type",
                                                "function",
                                                "function",
                                                Map.of("name", "search")))))
                .then()
                .statusCode(200)
                .header("x-flotilla-route", "auto->smart");
    }

    @Test
    void theMockCallsAnOfferedToolOnceWithFittingArgumentsThenAnswers() {
        String key = GatewayApi.key("fast");
        Map<String, Object> tool =
                Map.of(
                        "type",
                        "function",
                        "function",
                        Map.of(
                                "name",
                                "stock",
                                "parameters",
                                Map.of(
                                        "type",
                                        "object",
                                        "properties",
                                        Map.of(
                                                "sku",
                                                Map.of(
                                                        "type",
                                                        "string",
                                                        "enum",
                                                        List.of("kelp-kit"))))));
        Map<String, Object> ask = Map.of("role", "user", "content", "how many kelp kits?");
        chat(key, Map.of("model", "fast", "messages", List.of(ask), "tools", List.of(tool)))
                .then()
                .statusCode(200)
                .body("choices[0].finish_reason", equalTo("tool_calls"))
                .body("choices[0].message.tool_calls[0].function.name", equalTo("stock"))
                .body(
                        "choices[0].message.tool_calls[0].function.arguments",
                        equalTo("{\"sku\":\"kelp-kit\"}"));
        Map<String, Object> called =
                Map.of(
                        "role",
                        "assistant",
                        "tool_calls",
                        List.of(
                                Map.of(
                                        "id",
                                        "call_1",
                                        "type",
                                        "function",
                                        "function",
                                        Map.of("name", "stock", "arguments", "{}"))));
        Map<String, Object> result =
                Map.of("role", "tool", "tool_call_id", "call_1", "content", "{\"count\": 4}");
        chat(
                        key,
                        Map.of(
                                "model",
                                "fast",
                                "messages",
                                List.of(ask, called, result),
                                "tools",
                                List.of(tool)))
                .then()
                .statusCode(200)
                .body("choices[0].finish_reason", equalTo("stop"))
                .body("choices[0].message.content", org.hamcrest.Matchers.notNullValue());
    }

    @Test
    void keysSeeAndCallOnlyTheirAliases() {
        String key = GatewayApi.key("fast");
        given().header("Authorization", "Bearer " + key)
                .get("/v1/models")
                .then()
                .statusCode(200)
                .body("object", equalTo("list"))
                .body("data.id", equalTo(List.of("fast")))
                .body("data[0].owned_by", containsString("mock"));
        chat(key, "smart", "hi")
                .then()
                .statusCode(403)
                .body(
                        "error.message",
                        equalTo("model 'smart' is not allowed for this key; allowed: fast"));
        given().get("/v1/models")
                .then()
                .statusCode(401)
                .body("error.type", equalTo("authentication_error"));
    }

    @Test
    void badRequestsGetOpenAiErrorsThatSayWhatToFix() {
        String key = GatewayApi.key("fast");
        chat(key, Map.of("model", "fast"))
                .then()
                .statusCode(400)
                .body("error.param", equalTo("messages"));
        chat(
                        key,
                        Map.of(
                                "model",
                                "fast",
                                "messages",
                                List.of(Map.of("role", "robot", "content", "x"))))
                .then()
                .statusCode(400)
                .body("error.message", containsString("messages[0].role must be one of"));
        given().header("Authorization", "Bearer " + key)
                .contentType("application/json")
                .body("{nope")
                .post("/v1/chat/completions")
                .then()
                .statusCode(400)
                .body("error.type", equalTo("invalid_request_error"));
    }

    private static Map<String, String> health() {
        return given().header("Authorization", GatewayApi.ADMIN)
                .get("/admin/v1/providers/health")
                .then()
                .statusCode(200)
                .extract()
                .as(Map.class);
    }
}
