package io.flotilla.registry;

import static io.flotilla.registry.RegistryApi.ADMIN;
import static io.flotilla.registry.RegistryApi.agent;
import static io.flotilla.registry.RegistryApi.heartbeat;
import static io.flotilla.registry.RegistryApi.register;
import static io.flotilla.registry.RegistryApi.verifies;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.testsupport.PostgresResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

@QuarkusTest
@QuarkusTestResource(PostgresResource.class)
class RegistrationLifecycleTest {

    @Inject DataSource db;

    @Test
    void registrationReturnsATokenThatIsStoredOnlyAsAHash() throws SQLException {
        Map<String, Object> body = new HashMap<>(agent("life", "pod-a", 30));
        body.put("capabilities", List.of("chat", "tools"));
        body.put("metadata", Map.of("team", "search"));
        body.put("workflow", "life/research-brief");
        Response r = register(body);
        r.then()
                .statusCode(201)
                .header("Location", containsString("/api/v1/agents/" + r.path("id")))
                .body("ttlSeconds", equalTo(30));
        String token = r.path("token");
        assertTrue(token.length() >= 43, "at least 256 random bits, base64url");
        assertTrue(Instant.parse(r.path("expiresAt")).isAfter(Instant.now().plusSeconds(25)));

        try (Connection c = db.getConnection();
                PreparedStatement s =
                        c.prepareStatement("SELECT * FROM registry.agents WHERE id = ?::uuid")) {
            s.setString(1, r.path("id"));
            try (ResultSet rs = s.executeQuery()) {
                assertTrue(rs.next());
                for (int i = 1; i <= rs.getMetaData().getColumnCount(); i++) {
                    String value = rs.getString(i);
                    assertFalse(
                            value != null && value.contains(token.substring(10)),
                            "the token itself is never stored");
                }
                assertEquals(32, rs.getBytes("token_hash").length);
            }
        }
        given().header("Authorization", ADMIN)
                .get("/api/v1/agents/" + r.path("id"))
                .then()
                .statusCode(200)
                .body("capabilities", equalTo(List.of("chat", "tools")))
                .body("metadata.team", equalTo("search"))
                .body("workflow", equalTo("life/research-brief"))
                .body("status", equalTo("active"))
                .body("$", org.hamcrest.Matchers.not(org.hamcrest.Matchers.hasKey("token")));
    }

    @Test
    void heartbeatExtendsTheLease() {
        Response r = register(agent("life", "pod-hb", 30));
        Instant first = Instant.parse(r.path("expiresAt"));
        Response hb = heartbeat(r.path("id"), r.path("token"));
        hb.then().statusCode(200).body("id", equalTo(r.path("id"))).body("ttlSeconds", equalTo(30));
        assertTrue(Instant.parse(hb.path("expiresAt")).isAfter(first));
    }

    @Test
    void reRegistrationOfARestartedPodRevokesTheOldToken() throws SQLException {
        Response before = register(agent("life", "pod-restart", 30));
        before.then().statusCode(201);
        Response after = register(agent("life", "pod-restart", 30));
        after.then().statusCode(201);

        assertNotEquals(before.path("id"), (Object) after.path("id"));
        assertFalse(verifies(before.path("token")), "the restarted pod's old token is revoked");
        assertTrue(verifies(after.path("token")));
        heartbeat(before.path("id"), before.path("token"))
                .then()
                .statusCode(404)
                .body("detail", containsString("Register again"));
        heartbeat(after.path("id"), after.path("token")).then().statusCode(200);
        try (Connection c = db.getConnection();
                PreparedStatement s =
                        c.prepareStatement(
                                "SELECT count(*) FROM registry.agents WHERE namespace = 'life' AND pod_name = 'pod-restart'");
                ResultSet rs = s.executeQuery()) {
            rs.next();
            assertEquals(1, rs.getInt(1), "one row per identity");
        }
    }

    @Test
    void heartbeatAfterTheTtlAnswers410AndTellsTheAgentToRegisterAgain() throws SQLException {
        Response r = register(agent("life", "pod-late", 30));
        RegistryApi.lapse(db, r.path("id"));
        heartbeat(r.path("id"), r.path("token"))
                .then()
                .statusCode(410)
                .contentType(containsString("application/problem+json"))
                .body("detail", containsString("Register again with POST /api/v1/agents"));
        assertFalse(verifies(r.path("token")));
    }

    @Test
    void heartbeatNeedsTheAgentsOwnToken() {
        Response a = register(agent("life", "pod-own-a", 30));
        Response b = register(agent("life", "pod-own-b", 30));
        given().put("/api/v1/agents/" + a.path("id") + "/heartbeat")
                .then()
                .statusCode(401)
                .body("detail", containsString("Authorization: Bearer"));
        heartbeat(a.path("id"), b.path("token")).then().statusCode(403);
        heartbeat("not-a-uuid", a.path("token")).then().statusCode(404);
    }

    @Test
    void deregistrationByTheAgentOrTheAdminRevokesAtOnce() {
        Response self = register(agent("life", "pod-bye", 30));
        Response other = register(agent("life", "pod-bye-2", 30));
        given().header("Authorization", "Bearer " + other.path("token"))
                .delete("/api/v1/agents/" + self.path("id"))
                .then()
                .statusCode(403);
        given().header("Authorization", "Bearer " + self.path("token"))
                .delete("/api/v1/agents/" + self.path("id"))
                .then()
                .statusCode(204);
        assertFalse(verifies(self.path("token")));

        given().header("Authorization", ADMIN)
                .delete("/api/v1/agents/" + other.path("id"))
                .then()
                .statusCode(204);
        assertFalse(verifies(other.path("token")));
        given().header("Authorization", ADMIN)
                .delete("/api/v1/agents/" + other.path("id"))
                .then()
                .statusCode(404);
    }

    @Test
    void listingFiltersByNamespaceKindAndStatusAndNeedsTheAdminCredential() throws SQLException {
        Map<String, Object> tool = new HashMap<>(agent("listing", "pod-t", 30));
        tool.put("kind", "tool");
        register(tool).then().statusCode(201);
        register(agent("listing", "pod-x", 30)).then().statusCode(201);
        Response gone = register(agent("listing", "pod-gone", 30));
        RegistryApi.lapse(db, gone.path("id"));

        given().get("/api/v1/agents").then().statusCode(401);
        given().header("Authorization", "Bearer nope").get("/api/v1/agents").then().statusCode(401);
        given().header("Authorization", ADMIN)
                .queryParam("namespace", "listing")
                .get("/api/v1/agents")
                .then()
                .statusCode(200)
                .body("size()", equalTo(3));
        given().header("Authorization", ADMIN)
                .queryParam("namespace", "listing")
                .queryParam("kind", "tool")
                .get("/api/v1/agents")
                .then()
                .statusCode(200)
                .body("size()", equalTo(1))
                .body("[0].podName", equalTo("pod-t"));
        given().header("Authorization", ADMIN)
                .queryParam("namespace", "listing")
                .queryParam("status", "expired")
                .get("/api/v1/agents")
                .then()
                .statusCode(200)
                .body("size()", equalTo(1))
                .body("[0].status", equalTo("expired"));
        given().header("Authorization", ADMIN)
                .queryParam("status", "zombie")
                .get("/api/v1/agents")
                .then()
                .statusCode(400)
                .body("detail", containsString("use active or expired"));
    }

    @Test
    void verifyAnswersWhoOwnsALiveToken() {
        Response r = register(agent("life", "pod-verify", 30));
        given().contentType(ContentType.JSON)
                .body(Map.of("token", r.path("token")))
                .post("/api/v1/tokens/verify")
                .then()
                .statusCode(401);
        given().header("Authorization", RegistryApi.ADMIN)
                .contentType(ContentType.JSON)
                .body(Map.of("token", r.path("token")))
                .post("/api/v1/tokens/verify")
                .then()
                .statusCode(200)
                .body("valid", equalTo(true))
                .body("agent.podName", equalTo("pod-verify"));
        given().header("Authorization", RegistryApi.ADMIN)
                .contentType(ContentType.JSON)
                .body(Map.of("token", "flt_agent_forged"))
                .post("/api/v1/tokens/verify")
                .then()
                .statusCode(200)
                .body("valid", equalTo(false))
                .body("$", org.hamcrest.Matchers.not(org.hamcrest.Matchers.hasKey("agent")));
        given().header("Authorization", RegistryApi.ADMIN)
                .contentType(ContentType.JSON)
                .body(Map.of())
                .post("/api/v1/tokens/verify")
                .then()
                .statusCode(400)
                .body("detail", containsString("token"));
    }
}
