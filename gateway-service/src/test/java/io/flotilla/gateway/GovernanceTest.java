package io.flotilla.gateway;

import static io.flotilla.gateway.GatewayApi.ADMIN;
import static io.flotilla.gateway.GatewayApi.account;
import static io.flotilla.gateway.GatewayApi.chat;
import static io.flotilla.gateway.GatewayApi.scope;
import static io.flotilla.gateway.StreamingTest.data;
import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.gateway.fake.FakeUpstream;
import io.flotilla.gateway.fake.GatewayTestResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Rate limits, budgets, clamping, the kill switch, parent scopes, stream settlement and the ledger.
 * Route 'priced': input $1, output $2 per million tokens; the fake reports 11 + 7 tokens.
 */
@QuarkusTest
@QuarkusTestResource(GatewayTestResource.class)
class GovernanceTest extends io.flotilla.testsupport.ServiceSmokeTest {

    @TestHTTPResource("/v1/chat/completions")
    URI completions;

    @Override
    protected String schema() {
        return "gateway";
    }

    private static Map<String, Object> ask(int maxTokens) {
        return new HashMap<>(
                Map.of(
                        "model",
                        "priced",
                        "max_tokens",
                        maxTokens,
                        "messages",
                        List.of(Map.of("role", "user", "content", "hi"))));
    }

    private static Response call(GatewayApi.Key key, Map<String, Object> body, String budget) {
        var spec =
                given().header("Authorization", "Bearer " + key.secret())
                        .contentType(ContentType.JSON)
                        .body(body);
        if (budget != null) {
            spec.header("X-Flotilla-Budget", budget);
        }
        return spec.post("/v1/chat/completions");
    }

    @Test
    void everyAnswerCarriesItsCostAndTheLedgerRecordsIt() {
        GatewayApi.Key key = GatewayApi.newKey("priced");
        chat(key.secret(), ask(50))
                .then()
                .statusCode(200)
                .header("x-flotilla-cost-usd", "0.000025"); // 11*1 + 7*2 micro-USD
        await().atMost(Duration.ofSeconds(5))
                .until(() -> GatewayApi.usage(key, "model").size() == 1);
        Map<String, Object> row = GatewayApi.usage(key, "model").get(0);
        assertEquals(1, row.get("requests"));
        assertEquals(FakeUpstream.USAGE_IN, row.get("inputTokens"));
        assertEquals(FakeUpstream.USAGE_OUT, row.get("outputTokens"));
        assertEquals(0.000025, ((Number) row.get("costUsd")).doubleValue(), 1e-9);
    }

    @Test
    void requestsPerMinuteRefuseWithRateLimitHeadersAndRecover() throws Exception {
        GatewayApi.Key key = GatewayApi.newKey("priced");
        scope("key:" + key.id(), Map.of("tenant", key.tenant(), "rpm", 2));
        chat(key.secret(), ask(20))
                .then()
                .statusCode(200)
                .header("x-ratelimit-limit-requests", "2")
                .header("x-ratelimit-remaining-requests", "1");
        chat(key.secret(), ask(20))
                .then()
                .statusCode(200)
                .header("x-ratelimit-remaining-requests", "0");
        Response refused = chat(key.secret(), ask(20));
        refused.then()
                .statusCode(429)
                .body("error.code", equalTo("rate_limit_exceeded"))
                .body(
                        "error.message",
                        containsString("scope 'key:" + key.id() + "' allows 2 requests per minute"))
                .header("x-ratelimit-limit-requests", "2")
                .header("x-ratelimit-remaining-requests", "0")
                .header("Retry-After", org.hamcrest.Matchers.notNullValue());
        // two minutes pass: the sliding window forgets the old requests
        shiftWindows("key:" + key.id(), 2);
        chat(key.secret(), ask(20)).then().statusCode(200);
    }

    @Test
    void tokensPerMinuteClampThenRefuseThenRecover() throws Exception {
        GatewayApi.Key key = GatewayApi.newKey("priced");
        scope("key:" + key.id(), Map.of("tenant", key.tenant(), "tpm", 120));
        Response clamped = chat(key.secret(), ask(500));
        clamped.then()
                .statusCode(200)
                .header("x-flotilla-max-tokens-clamped", org.hamcrest.Matchers.notNullValue());
        int granted = Integer.parseInt(clamped.header("x-flotilla-max-tokens-clamped"));
        assertTrue(granted < 120, "granted " + granted);
        assertEquals(
                granted,
                lastBody("gv-model").getInteger("max_tokens"),
                "the upstream is told the clamped max_tokens");
        for (int i = 0; i < 10; i++) {
            Response r = chat(key.secret(), ask(500));
            if (r.statusCode() == 429) {
                r.then().body("error.message", containsString("tokens per minute"));
                shiftWindows("key:" + key.id(), 2);
                chat(key.secret(), ask(20)).then().statusCode(200);
                return;
            }
        }
        throw new AssertionError("the token rate never refused");
    }

    @Test
    void aBudgetClampsMaxTokensThenRefusesWithInsufficientQuotaNamingTheScope() {
        GatewayApi.Key key = GatewayApi.newKey("priced");
        scope("tenant:" + key.tenant(), Map.of("tenant", key.tenant(), "maxTokens", 80));
        Response first = chat(key.secret(), ask(1000));
        first.then().statusCode(200);
        assertTrue(Integer.parseInt(first.header("x-flotilla-max-tokens-clamped")) < 80);
        await().atMost(Duration.ofSeconds(5))
                .until(
                        () ->
                                ((Number) account("tenant:" + key.tenant()).get("reservedTokens"))
                                                .intValue()
                                        == 0);
        assertEquals(
                18,
                ((Number) account("tenant:" + key.tenant()).get("usedTokens")).intValue(),
                "settled with the real usage");
        Response last = null;
        for (int i = 0; i < 6; i++) {
            last = chat(key.secret(), ask(1000));
            if (last.statusCode() == 429) {
                break;
            }
        }
        last.then()
                .statusCode(429)
                .body("error.code", equalTo("insufficient_quota"))
                .header("Retry-After", "3600")
                .body(
                        "error.message",
                        containsString(
                                "token budget of scope 'tenant:" + key.tenant() + "' is spent"));
        assertTrue(
                ((Number) account("tenant:" + key.tenant()).get("usedTokens")).intValue() <= 80,
                "never past the budget");
    }

    @Test
    void theKillSwitchStopsTheNextRequest() {
        GatewayApi.Key key = GatewayApi.newKey("priced");
        scope("tenant:" + key.tenant(), Map.of("tenant", key.tenant()));
        chat(key.secret(), ask(20)).then().statusCode(200);
        given().header("Authorization", ADMIN)
                .post("/admin/v1/scopes/tenant:" + key.tenant() + "/pause")
                .then()
                .statusCode(200)
                .body("paused", equalTo(true));
        chat(key.secret(), ask(20))
                .then()
                .statusCode(429)
                .body("error.code", equalTo("scope_paused"))
                .header("Retry-After", "30");
        given().header("Authorization", ADMIN)
                .post("/admin/v1/scopes/tenant:" + key.tenant() + "/resume")
                .then()
                .statusCode(200);
        chat(key.secret(), ask(20)).then().statusCode(200);
    }

    @Test
    void aParentScopeLimitsItsChildren() {
        GatewayApi.Key key = GatewayApi.newKey("priced");
        String workflow = "workflow:" + key.tenant() + "/brief";
        scope(workflow, Map.of("tenant", key.tenant(), "maxTokens", 60));
        scope(
                "run:" + key.tenant() + "-1",
                Map.of("tenant", key.tenant(), "parent", workflow, "maxTokens", 100000));
        Response r = call(key, ask(1000), "run:" + key.tenant() + "-1");
        r.then().statusCode(200);
        assertTrue(
                Integer.parseInt(r.header("x-flotilla-max-tokens-clamped")) < 60,
                "the parent's budget bounds the child's request");
        call(key, ask(20), "run:unknown")
                .then()
                .statusCode(400)
                .body("error.code", equalTo("unknown_budget_scope"));
        GatewayApi.Key other = GatewayApi.newKey("priced");
        call(other, ask(20), "run:" + key.tenant() + "-1").then().statusCode(403);
    }

    @Test
    void aStreamWithoutUpstreamUsageIsStillCounted() {
        GatewayApi.Key key = GatewayApi.newKey("priced");
        scope("tenant:" + key.tenant(), Map.of("tenant", key.tenant(), "maxTokens", 100000));
        FakeUpstream.script("gv-model", FakeUpstream.Behaviour.NO_USAGE);
        Map<String, Object> body = ask(100);
        body.put("stream", true);
        Response r = chat(key.secret(), body);
        assertEquals("[DONE]", data(r.asString()).get(data(r.asString()).size() - 1));
        await().atMost(Duration.ofSeconds(5))
                .until(
                        () ->
                                ((Number) account("tenant:" + key.tenant()).get("reservedTokens"))
                                                .intValue()
                                        == 0);
        assertTrue(
                ((Number) account("tenant:" + key.tenant()).get("usedTokens")).intValue() > 3,
                "counted by the gateway itself");
        await().atMost(Duration.ofSeconds(5))
                .until(() -> !GatewayApi.usage(key, "model").isEmpty());
        assertTrue(
                ((Number) GatewayApi.usage(key, "model").get(0).get("outputTokens")).intValue()
                        > 0);
    }

    @Test
    void aClientThatDisconnectsMidStreamIsStillSettled() throws Exception {
        GatewayApi.Key key = GatewayApi.newKey("priced");
        scope("tenant:" + key.tenant(), Map.of("tenant", key.tenant(), "maxTokens", 100000));
        FakeUpstream.script("gv-model", FakeUpstream.Behaviour.SLOW_STREAM);
        HttpResponse<InputStream> response =
                HttpClient.newHttpClient()
                        .send(
                                HttpRequest.newBuilder(completions)
                                        .header("Authorization", "Bearer " + key.secret())
                                        .header("Content-Type", "application/json")
                                        .POST(
                                                HttpRequest.BodyPublishers.ofString(
                                                        "{\"model\":\"priced\",\"stream\":true,\"max_tokens\":100,"
                                                                + "\"messages\":[{\"role\":\"user\",\"content\":\"a slow story\"}]}"))
                                        .build(),
                                HttpResponse.BodyHandlers.ofInputStream());
        InputStream in = response.body();
        assertTrue(in.read(new byte[64]) > 0, "the stream started");
        in.close(); // the client goes away mid-stream
        await().atMost(Duration.ofSeconds(5))
                .until(
                        () ->
                                ((Number) account("tenant:" + key.tenant()).get("reservedTokens"))
                                                .intValue()
                                        == 0);
        await().atMost(Duration.ofSeconds(5))
                .until(() -> !GatewayApi.usage(key, "model").isEmpty());
    }

    @Test
    void aReservationThatRunsOutEndsTheStreamWithAnErrorEvent() {
        GatewayApi.Key key = GatewayApi.newKey("priced");
        Map<String, Object> body =
                new HashMap<>(
                        Map.of(
                                "model",
                                "priced",
                                "stream",
                                true,
                                "max_tokens",
                                5,
                                "messages",
                                List.of(Map.of("role", "user", "content", "word ".repeat(60)))));
        Response r = chat(key.secret(), body); // the fake ignores max_tokens and echoes 60 words
        List<String> data = data(r.asString());
        assertFalse(data.contains("[DONE]"));
        assertTrue(
                data.get(data.size() - 1).contains("budget_exhausted"), data.get(data.size() - 1));
    }

    @Test
    void aKeyReadsOnlyItsOwnTenantsUsage() {
        GatewayApi.Key mine = GatewayApi.newKey("priced");
        GatewayApi.Key theirs = GatewayApi.newKey("priced");
        chat(theirs.secret(), ask(20)).then().statusCode(200);
        given().header("Authorization", "Bearer " + mine.secret())
                .queryParam("tenant", theirs.tenant())
                .get("/api/v1/usage")
                .then()
                .statusCode(403);
        await().atMost(Duration.ofSeconds(5))
                .until(() -> !GatewayApi.usage(theirs, "tenant").isEmpty());
        assertTrue(
                GatewayApi.usage(mine, "tenant").isEmpty(),
                "nothing of the other tenant is visible");
        given().header("Authorization", ADMIN)
                .queryParam("tenant", theirs.tenant())
                .queryParam("groupBy", "day")
                .get("/api/v1/usage")
                .then()
                .statusCode(200)
                .body("size()", equalTo(1));
        given().get("/api/v1/usage").then().statusCode(401);
    }

    private static io.vertx.core.json.JsonObject lastBody(String model) {
        List<FakeUpstream.Call> calls = FakeUpstream.recorded(model);
        return calls.get(calls.size() - 1).body();
    }

    /** Simulates minutes passing for a scope's rate windows. */
    private void shiftWindows(String scope, int minutes) throws Exception {
        try (Connection c = db.getConnection();
                PreparedStatement s =
                        c.prepareStatement(
                                "UPDATE gateway.rate_windows SET minute = minute - make_interval(mins => ?) WHERE scope = ?")) {
            s.setInt(1, minutes);
            s.setString(2, scope);
            s.executeUpdate();
        }
    }
}
