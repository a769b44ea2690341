package io.flotilla.executor.auth;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.everyItem;
import static org.hamcrest.Matchers.is;
import static org.hamcrest.Matchers.not;
import static org.hamcrest.Matchers.startsWith;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flotilla.testsupport.Hostile;
import io.flotilla.testsupport.Routes;
import io.flotilla.testsupport.TokenReviewResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.specification.RequestSpecification;
import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Who may call the executor: ServiceAccount tokens reviewed by a real API server, bound to their
 * namespace; the operator's ServiceAccount and the admin token act on every namespace.
 */
@QuarkusTest
@TestProfile(KubernetesAuth.class)
class AuthenticationTest {

    private static final String ADMIN = "test-executor-admin";
    private static final String WORKFLOW =
            """
            defaults: {model: fast}
            steps:
              - {id: only, agent: {prompt: "auth: hello"}}
            """;

    private static RequestSpecification as(String token) {
        return given().header("Authorization", "Bearer " + token);
    }

    private static int publish(String token, String namespace, String name) {
        return as(token)
                .contentType("application/yaml")
                .body(WORKFLOW.getBytes(java.nio.charset.StandardCharsets.UTF_8))
                .put("/api/v1/workflows/" + namespace + "/" + name)
                .statusCode();
    }

    @TestHTTPResource("/")
    URI base;

    @Test
    void everyRouteAnswers401WithoutACredential() throws Exception {
        List<Routes.Route> routes = Routes.jaxRs("io.flotilla.executor");
        assertEquals(11, routes.size(), "the executor's routes changed: " + routes);
        assertEquals(
                List.of(), Hostile.openRoutes(base, routes), "routes open without a credential");
    }

    @Test
    void aTokenTheApiServerDoesNotKnowIsRefused() {
        as("not-a-token")
                .get("/api/v1/runs")
                .then()
                .statusCode(401)
                .contentType(startsWith("application/problem+json"))
                .body("detail", containsString("ServiceAccount token"));
    }

    @Test
    void aServiceAccountActsOnItsOwnNamespaceOnly() {
        String teamA = TokenReviewResource.token("auth-team-a", "app");
        assertEquals(201, publish(teamA, "auth-team-a", "mine"));
        assertEquals(403, publish(teamA, "auth-team-b", "theirs"));
        assertEquals(201, publish(ADMIN, "auth-team-b", "theirs"));
        as(teamA)
                .get("/api/v1/workflows/auth-team-b/theirs")
                .then()
                .statusCode(403)
                .body("detail", containsString("namespace auth-team-a only"));
        as(teamA).delete("/api/v1/workflows/auth-team-b/theirs").then().statusCode(403);

        String theirRun =
                as(ADMIN)
                        .contentType("application/json")
                        .body("{\"workflow\":\"auth-team-b/theirs\"}")
                        .post("/api/v1/runs")
                        .then()
                        .statusCode(202)
                        .extract()
                        .path("id");
        String myRun =
                as(teamA)
                        .contentType("application/json")
                        .body("{\"workflow\":\"auth-team-a/mine\"}")
                        .post("/api/v1/runs")
                        .then()
                        .statusCode(202)
                        .extract()
                        .path("id");
        as(teamA)
                .contentType("application/json")
                .body("{\"workflow\":\"auth-team-b/theirs\"}")
                .post("/api/v1/runs")
                .then()
                .statusCode(403);
        as(teamA).get("/api/v1/runs/" + theirRun).then().statusCode(403);
        as(teamA).post("/api/v1/runs/" + theirRun + "/cancel").then().statusCode(403);
        as(teamA).get("/api/v1/runs/" + theirRun + "/events").then().statusCode(403);
        as(teamA).get("/api/v1/runs/" + myRun).then().statusCode(200);
        as(teamA).get("/api/v1/runs?workflow=auth-team-b/theirs").then().statusCode(403);
        as(teamA)
                .get("/api/v1/runs?limit=500")
                .then()
                .statusCode(200)
                .body("workflow", everyItem(startsWith("auth-team-a/")))
                .body("id", not(org.hamcrest.Matchers.hasItem(theirRun)));
    }

    @Test
    void theOperatorsServiceAccountIsAnAdmin() {
        String[] operator = TokenReviewResource.OPERATOR.split("/");
        String token = TokenReviewResource.token(operator[0], operator[1]);
        assertEquals(201, publish(token, "auth-team-c", "any"));
        as(token).get("/api/v1/workflows/auth-team-c/any").then().statusCode(is(200));
    }
}
