package io.flotilla.registry;

import static io.restassured.RestAssured.given;

import io.restassured.http.ContentType;
import io.restassured.response.Response;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Map;
import javax.sql.DataSource;

/** Small helpers over the registry's HTTP API, shared by the registry's tests. */
final class RegistryApi {

    static final String ADMIN = "Bearer test-admin-credential";

    private RegistryApi() {}

    static Map<String, Object> agent(String namespace, String pod, int ttlSeconds) {
        return Map.of(
                "name",
                "worker",
                "kind",
                "agent",
                "namespace",
                namespace,
                "podName",
                pod,
                "ttlSeconds",
                ttlSeconds);
    }

    /** The admin token without its scheme, as a registry client's credential. */
    static final String ADMIN_TOKEN = ADMIN.substring("Bearer ".length());

    /** Registers with the admin credential (authentication has its own tests). */
    static Response register(Map<String, Object> body) {
        return given().header("Authorization", ADMIN)
                .contentType(ContentType.JSON)
                .body(body)
                .post("/api/v1/agents");
    }

    static Response heartbeat(String id, String token) {
        return given().header("Authorization", "Bearer " + token)
                .put("/api/v1/agents/" + id + "/heartbeat");
    }

    static boolean verifies(String token) {
        return given().header("Authorization", ADMIN)
                .contentType(ContentType.JSON)
                .body(Map.of("token", token))
                .post("/api/v1/tokens/verify")
                .then()
                .statusCode(200)
                .extract()
                .path("valid");
    }

    static int count(String namespace, String status) {
        return given().header("Authorization", ADMIN)
                .queryParam("namespace", namespace)
                .queryParam("status", status == null ? "" : status)
                .get("/api/v1/agents")
                .then()
                .statusCode(200)
                .extract()
                .path("size()");
    }

    /** Current value of a Prometheus counter or gauge, 0 when not yet reported. */
    static double metric(String name) {
        String text = given().get("/q/metrics").then().statusCode(200).extract().asString();
        return text.lines()
                .filter(l -> l.startsWith(name + " ") || l.startsWith(name + "{"))
                .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                .sum();
    }

    /** Simulates an agent that stopped heartbeating long enough for its TTL to run out. */
    static void lapse(DataSource db, String id) throws SQLException {
        try (Connection c = db.getConnection();
                PreparedStatement s =
                        c.prepareStatement(
                                "UPDATE registry.agents SET expires_at = now() - interval '100 milliseconds' WHERE id = ?::uuid")) {
            s.setString(1, id);
            if (s.executeUpdate() != 1) {
                throw new IllegalStateException("no registration " + id + " to lapse");
            }
        }
    }
}
