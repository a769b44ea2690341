package io.flotilla.gateway;

import static io.flotilla.gateway.GatewayApi.account;
import static io.flotilla.gateway.GatewayApi.chat;
import static io.flotilla.gateway.GatewayApi.scope;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.gateway.fake.GatewayTestResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.restassured.response.Response;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.time.LocalTime;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A scope changed by another replica (here: straight in Postgres, as another replica's admin API
 * would) reaches this replica's slices through Postgres' notification at once, not when they
 * expire: slices here live a minute (they also end with the minute, so each test starts early in
 * one), far longer than the test waits.
 */
@QuarkusTest
@QuarkusTestResource(GatewayTestResource.class)
@TestProfile(ScopeChangeTest.LongSlices.class)
class ScopeChangeTest extends io.flotilla.testsupport.ServiceSmokeTest {

    public static class LongSlices implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            return Map.of("flotilla.gateway.governance.slice-lifetime", "60s");
        }
    }

    @Override
    protected String schema() {
        return "gateway";
    }

    private static final Map<String, Object> ASK =
            Map.of(
                    "model",
                    "priced",
                    "max_tokens",
                    20,
                    "messages",
                    List.of(Map.of("role", "user", "content", "hi")));

    private void sql(String statement, String scope) throws Exception {
        try (Connection c = db.getConnection();
                PreparedStatement s = c.prepareStatement(statement)) {
            s.setString(1, scope);
            assertEquals(1, s.executeUpdate());
        }
    }

    private static void earlyInAMinute() {
        await().atMost(Duration.ofSeconds(30))
                .until(() -> LocalTime.now(ZoneOffset.UTC).getSecond() < 45);
    }

    @Test
    void aPauseByAnotherReplicaStopsTheNextRequestsHereAndReturnsTheSlice() throws Exception {
        earlyInAMinute();
        GatewayApi.Key key = GatewayApi.newKey("priced");
        String tenant = "tenant:" + key.tenant();
        scope(tenant, Map.of("tenant", key.tenant(), "maxTokens", 1_000_000));
        double before = SliceTest.leases();
        chat(key.secret(), ASK).then().statusCode(200);
        chat(key.secret(), ASK).then().statusCode(200);
        assertTrue(SliceTest.leases() > before, "the requests went within a slice");
        assertTrue(((Number) account(tenant).get("reservedTokens")).longValue() > 0, "held");

        sql("UPDATE gateway.scopes SET paused = true WHERE scope = ?", tenant);
        AtomicInteger answered = new AtomicInteger(2);
        Response refused =
                await().atMost(Duration.ofSeconds(10))
                        .until(
                                () -> {
                                    Response r = chat(key.secret(), ASK);
                                    answered.addAndGet(r.statusCode() == 200 ? 1 : 0);
                                    return r;
                                },
                                r -> r.statusCode() != 200);
        assertTrue(answered.get() <= 3, answered + " answers: the pause came late");
        refused.then()
                .statusCode(429)
                .body("error.code", org.hamcrest.Matchers.equalTo("scope_paused"));
        // the slice came back with its usage: nothing reserved, the two answers charged
        await().atMost(Duration.ofSeconds(10))
                .until(() -> ((Number) account(tenant).get("reservedTokens")).longValue() == 0);
        assertEquals(
                answered.get() * 18L, ((Number) account(tenant).get("usedTokens")).longValue());

        sql("UPDATE gateway.scopes SET paused = false WHERE scope = ?", tenant);
        await().atMost(Duration.ofSeconds(10))
                .until(() -> chat(key.secret(), ASK).statusCode() == 200);
    }

    @Test
    void aScopeCreatedForAChainAlreadyLeasedAppliesAtOnce() throws Exception {
        earlyInAMinute();
        GatewayApi.Key key = GatewayApi.newKey("priced");
        scope("tenant:" + key.tenant(), Map.of("tenant", key.tenant(), "maxTokens", 1_000_000));
        chat(key.secret(), ASK).then().statusCode(200);
        // another replica creates a paused scope for this key: the slice leased without it goes
        sql(
                "INSERT INTO gateway.scopes (scope, tenant_id, paused) VALUES (?, '"
                        + key.tenant()
                        + "', true)",
                "key:" + key.id());
        await().atMost(Duration.ofSeconds(10))
                .until(() -> chat(key.secret(), ASK), r -> r.statusCode() != 200)
                .then()
                .statusCode(429)
                .body("error.code", org.hamcrest.Matchers.equalTo("scope_paused"));
    }
}
