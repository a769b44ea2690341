package io.flotilla.gateway;

import static io.flotilla.gateway.GatewayApi.account;
import static io.flotilla.gateway.GatewayApi.chat;
import static io.flotilla.gateway.GatewayApi.scope;
import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.gateway.fake.FakeUpstream;
import io.flotilla.gateway.fake.GatewayTestResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * Admission within leased slices (docs/governance.md "Slices"): far from a limit requests share a
 * few leases and still settle exactly; near it the last of a budget goes request by request; rate
 * limits hold; a slice whose replica died is charged in full when it expires. Route 'priced': the
 * fake reports 11 + 7 tokens per answer.
 */
@QuarkusTest
@QuarkusTestResource(GatewayTestResource.class)
class SliceTest extends io.flotilla.testsupport.ServiceSmokeTest {

    private static final int PER_ANSWER = FakeUpstream.USAGE_IN + FakeUpstream.USAGE_OUT;

    @Override
    protected String schema() {
        return "gateway";
    }

    private static Map<String, Object> ask(int maxTokens) {
        return Map.of(
                "model",
                "priced",
                "max_tokens",
                maxTokens,
                "messages",
                List.of(Map.of("role", "user", "content", "hi")));
    }

    static double leases() {
        String metrics = given().get("/q/metrics").asString();
        return metrics.lines()
                .filter(l -> l.startsWith("flotilla_gateway_governance_slices_leased_total"))
                .mapToDouble(l -> Double.parseDouble(l.split(" ")[1])) // then maybe an exemplar
                .sum();
    }

    private static long number(Map<String, Object> account, String field) {
        return ((Number) account.get(field)).longValue();
    }

    @Test
    void farFromTheLimitsRequestsShareAFewLeasesAndSettleExactly() throws Exception {
        GatewayApi.Key key = GatewayApi.newKey("priced");
        String tenant = "tenant:" + key.tenant();
        scope(
                tenant,
                Map.of(
                        "tenant",
                        key.tenant(),
                        "maxTokens",
                        10_000_000,
                        "rpm",
                        100_000,
                        "tpm",
                        100_000_000));
        double before = leases();
        for (int i = 0; i < 60; i++) {
            chat(key.secret(), ask(20)).then().statusCode(200);
        }
        double leased = leases() - before;
        assertTrue(leased >= 1 && leased <= 10, "60 requests took " + leased + " leases");
        // the slices return within their lifetime: the reservations are gone, the usage charged
        await().atMost(Duration.ofSeconds(5))
                .until(() -> number(account(tenant), "reservedTokens") == 0);
        assertEquals(60L * PER_ANSWER, number(account(tenant), "usedTokens"));
        try (Connection c = db.getConnection();
                PreparedStatement s =
                        c.prepareStatement(
                                "SELECT (SELECT count(*) FROM gateway.reservations WHERE ? = ANY (scopes)),"
                                        + " (SELECT coalesce(sum(requests), 0) FROM gateway.rate_windows WHERE scope = ?)")) {
            s.setString(1, tenant);
            s.setString(2, tenant);
            ResultSet rs = s.executeQuery();
            rs.next();
            assertEquals(0, rs.getLong(1), "no reservation left");
            assertEquals(
                    60,
                    rs.getLong(2),
                    "the rate window counts the requests admitted, not those leased");
        }
    }

    @Test
    void nearTheLimitTheLastOfABudgetGoesRequestByRequest() {
        GatewayApi.Key key = GatewayApi.newKey("priced");
        String tenant = "tenant:" + key.tenant();
        int budget = 2_000;
        scope(tenant, Map.of("tenant", key.tenant(), "maxTokens", budget));
        double before = leases();
        Response last = null;
        int answered = 0;
        for (int i = 0; i < 400; i++) {
            last = chat(key.secret(), ask(20));
            if (last.statusCode() != 200) {
                break;
            }
            answered++;
        }
        assertTrue(leases() > before, "the first requests went within slices");
        last.then().statusCode(429).body("error.code", equalTo("insufficient_quota"));
        await().atMost(Duration.ofSeconds(5))
                .until(() -> number(account(tenant), "reservedTokens") == 0);
        long used = number(account(tenant), "usedTokens");
        assertEquals((long) answered * PER_ANSWER, used, "settled exactly what was answered");
        assertTrue(used <= budget, "never past the budget: " + used);
        // a request reserves prompt + 20 + the stream tolerance 16: what is left could not pay one
        assertTrue(
                budget - used < 20 + 16 + 30,
                "the budget was used up to its last request: " + used);
    }

    @Test
    void requestsPerMinuteHoldWithinSlices() {
        // all of it inside one minute, so the sliding window's previous minute plays no part
        await().atMost(Duration.ofSeconds(30))
                .until(() -> LocalTime.now(ZoneOffset.UTC).getSecond() < 40);
        GatewayApi.Key key = GatewayApi.newKey("priced");
        scope("key:" + key.id(), Map.of("tenant", key.tenant(), "rpm", 100));
        int answered = 0;
        for (int i = 0; i < 130; i++) {
            Response r = chat(key.secret(), ask(20));
            if (r.statusCode() == 200) {
                answered++;
            } else {
                r.then().statusCode(429).body("error.code", equalTo("rate_limit_exceeded"));
            }
        }
        assertTrue(answered <= 100, "admitted " + answered + " of an rpm of 100");
        assertTrue(answered >= 90, "a slice's unused requests return to the window: " + answered);
    }

    @Test
    void aSliceOfAReplicaThatDiedIsChargedInFullWhenItExpires() throws Exception {
        GatewayApi.Key key = GatewayApi.newKey("priced");
        String tenant = "tenant:" + key.tenant();
        scope(tenant, Map.of("tenant", key.tenant(), "maxTokens", 1_000_000));
        try (Connection c = db.getConnection()) {
            // what a replica leases before it is killed: a slice that no one will return
            try (PreparedStatement s =
                    c.prepareStatement(
                            "SELECT ok, tokens FROM gateway.lease(?, ?, ARRAY[?], NULL, 5000, 10, 10, 0.1, 1.0, 600)")) {
                s.setObject(1, UUID.randomUUID());
                s.setString(2, key.tenant());
                s.setString(3, tenant);
                ResultSet rs = s.executeQuery();
                rs.next();
                assertTrue(rs.getBoolean(1));
                assertEquals(5000, rs.getLong(2));
            }
            assertEquals(5000, number(account(tenant), "reservedTokens"));
            try (PreparedStatement s =
                    c.prepareStatement(
                            "UPDATE gateway.reservations SET expires_at = now() - interval '1 second' WHERE ? = ANY (scopes)")) {
                s.setString(1, tenant);
                s.executeUpdate();
            }
            try (PreparedStatement s = c.prepareStatement("SELECT gateway.expire_reservations()")) {
                s.executeQuery();
            }
        }
        Map<String, Object> account = account(tenant);
        assertEquals(0, number(account, "reservedTokens"));
        assertEquals(
                5000, number(account, "usedTokens"), "charged in full: it may have been spent");
    }

    @Test
    void aCostBudgetOverFreeTargetsAdmitsWithinSlicesAndRequestByRequest() {
        // cost budget / price 0 overflowed bigint: every such request was refused with 503
        Map<String, Object> free =
                Map.of(
                        "model",
                        "free",
                        "messages",
                        List.of(Map.of("role", "user", "content", "hi")));
        GatewayApi.Key far = GatewayApi.newKey("free");
        scope("tenant:" + far.tenant(), Map.of("tenant", far.tenant(), "maxCostUsd", 1_000_000));
        double before = leases();
        chat(far.secret(), free).then().statusCode(200);
        assertTrue(leases() > before, "admitted within a slice");

        GatewayApi.Key near = GatewayApi.newKey("free");
        scope(
                "key:" + near.id(),
                Map.of("tenant", near.tenant(), "maxTokens", 5_000, "maxCostUsd", 1_000_000));
        before = leases();
        chat(near.secret(), free).then().statusCode(200);
        assertEquals(before, leases(), "5,000 tokens pay for no slice of a 4,096-token request");
    }

    @Test
    void aDailyBudgetSpentYesterdayAdmitsAgainOnBothPaths() throws Exception {
        for (long budget : new long[] {1_000_000, 100}) { // within slices; request by request
            GatewayApi.Key key = GatewayApi.newKey("priced");
            String tenant = "tenant:" + key.tenant();
            scope(tenant, Map.of("tenant", key.tenant(), "maxTokens", budget, "reset", "daily"));
            try (Connection c = db.getConnection();
                    PreparedStatement s =
                            c.prepareStatement(
                                    "UPDATE gateway.scopes SET used_tokens = max_tokens,"
                                            + " period_start = period_start - interval '1 day' WHERE scope = ?")) {
                s.setString(1, tenant);
                assertEquals(1, s.executeUpdate());
            }
            chat(key.secret(), ask(20)).then().statusCode(200);
            await().atMost(Duration.ofSeconds(5))
                    .until(() -> number(account(tenant), "reservedTokens") == 0);
            assertEquals(PER_ANSWER, number(account(tenant), "usedTokens"), "a new day: " + budget);
        }
    }
}
