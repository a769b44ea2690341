package io.flotilla.gateway;

import static io.flotilla.gateway.GatewayApi.chat;
import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.gateway.fake.GatewayTestResource;
import io.flotilla.gateway.fake.TcpProxy;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Postgres unreachable: the gateway fails closed with a clear error (once no slice it holds covers
 * the request), the metric shows it, and it recovers.
 */
@QuarkusTest
@QuarkusTestResource(GatewayTestResource.class)
class StoreOutageTest {

    @Test
    void withoutItsStoreTheGatewayRefusesClearlyAndRecovers() throws Exception {
        String key = GatewayApi.key("fast");
        chat(key, "fast", "before").then().statusCode(200);
        TcpProxy.current().down();
        try {
            // a request may still be admitted within the slice this replica holds (its budget is
            // already reserved) until the lost connection returns the slice, at most its lifetime
            io.restassured.response.Response during =
                    await().atMost(Duration.ofSeconds(5))
                            .until(() -> chat(key, "fast", "during"), r -> r.statusCode() != 200);
            during.then()
                    .statusCode(503)
                    .body("error.code", equalTo("governance_unavailable"))
                    .body(
                            "error.message",
                            org.hamcrest.Matchers.containsString(
                                    "refuses requests rather than risk overspending"))
                    .header("Retry-After", "5");
            String metrics = given().get("/q/metrics").then().extract().asString();
            assertTrue(
                    metrics.contains("flotilla_gateway_governance_degraded 1.0"),
                    "the degraded gauge is raised");
            assertTrue(
                    metrics.contains(
                                    "flotilla_gateway_governance_store_failures_total{operation=\"reserve\"}")
                            || metrics.contains(
                                    "flotilla_gateway_governance_store_failures_total{operation=\"authenticate\"}"));
        } finally {
            TcpProxy.current().up();
        }
        await().atMost(Duration.ofSeconds(20))
                .pollInterval(Duration.ofMillis(500))
                .until(
                        () ->
                                chat(
                                                        key,
                                                        Map.of(
                                                                "model",
                                                                "fast",
                                                                "messages",
                                                                List.of(
                                                                        Map.of(
                                                                                "role", "user",
                                                                                "content",
                                                                                "after"))))
                                                .statusCode()
                                        == 200);
    }
}
