package io.flotilla.registry.auth;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flotilla.testsupport.Hostile;
import io.flotilla.testsupport.Routes;
import io.flotilla.testsupport.TokenReviewResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import java.net.URI;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Registering proves the namespace (a ServiceAccount token of it, reviewed by a real API server); a
 * live registration is replaced only by its own token, a token bound to its pod, or the admin; a
 * namespace holds at most the configured number of live registrations.
 */
@QuarkusTest
@TestProfile(KubernetesAuth.class)
class AuthenticationTest {

    private static final String ADMIN = "Bearer test-admin-credential";

    private static Response register(String bearer, String namespace, String pod) {
        return given().header("Authorization", bearer)
                .contentType(ContentType.JSON)
                .body(
                        Map.of(
                                "name",
                                "worker",
                                "kind",
                                "agent",
                                "namespace",
                                namespace,
                                "podName",
                                pod,
                                "ttlSeconds",
                                60))
                .post("/api/v1/agents");
    }

    @TestHTTPResource("/")
    URI base;

    @Test
    void everyRouteAnswers401WithoutACredential() throws Exception {
        List<Routes.Route> routes = Routes.jaxRs("io.flotilla.registry");
        assertEquals(6, routes.size(), "the registry's routes changed: " + routes);
        assertEquals(
                List.of(), Hostile.openRoutes(base, routes), "routes open without a credential");
    }

    @Test
    void aServiceAccountRegistersInItsOwnNamespaceOnly() {
        String token = "Bearer " + TokenReviewResource.token("reg-team-a", "agents");
        register(token, "reg-team-a", "pod-1").then().statusCode(201);
        register(token, "reg-team-b", "pod-1")
                .then()
                .statusCode(403)
                .body("detail", containsString("reg-team-a only"));
        given().header("Authorization", token).get("/api/v1/agents").then().statusCode(403);
    }

    @Test
    void aLiveRegistrationIsReplacedOnlyByItsTokenItsPodOrTheAdmin() {
        String ns = "reg-replace";
        String other = "Bearer " + TokenReviewResource.token(ns, "agents");
        String first =
                register(other, ns, "agent-0").then().statusCode(201).extract().path("token");

        register(other, ns, "agent-0")
                .then()
                .statusCode(409)
                .body("detail", containsString("bound to pod agent-0"));
        String renewed =
                register("Bearer " + first, ns, "agent-0")
                        .then()
                        .statusCode(201)
                        .extract()
                        .path("token");
        register("Bearer " + first, ns, "agent-0").then().statusCode(409); // revoked by the renewal
        register("Bearer " + renewed, ns, "agent-9")
                .then()
                .statusCode(403)
                .body("detail", containsString("does not hold a live registration"));

        String podBound = "Bearer " + TokenReviewResource.podToken(ns, "agents", "agent-0");
        register(podBound, ns, "agent-0").then().statusCode(201);
        register(ADMIN, ns, "agent-0").then().statusCode(201);
    }

    @Test
    void aNamespaceHoldsAtMostTheConfiguredNumberOfLiveRegistrations() {
        String ns = "reg-capped";
        String token = "Bearer " + TokenReviewResource.token(ns, "agents");
        for (int i = 0; i < KubernetesAuth.CAP; i++) {
            register(token, ns, "pod-" + i).then().statusCode(201);
        }
        register(token, ns, "pod-extra")
                .then()
                .statusCode(429)
                .contentType(containsString("application/problem+json"))
                .body("detail", containsString("max-per-namespace = " + KubernetesAuth.CAP));
        register(ADMIN, ns, "pod-0").then().statusCode(201); // replacing stays possible
        given().header("Authorization", ADMIN)
                .queryParam("namespace", ns)
                .queryParam("status", "active")
                .get("/api/v1/agents")
                .then()
                .statusCode(200)
                .body("size()", org.hamcrest.Matchers.equalTo(KubernetesAuth.CAP));
    }

    @Test
    void theOperatorsServiceAccountIsAnAdmin() {
        String[] operator = TokenReviewResource.OPERATOR.split("/");
        String token = "Bearer " + TokenReviewResource.token(operator[0], operator[1]);
        given().header("Authorization", token).get("/api/v1/agents").then().statusCode(200);
        register(token, "reg-anywhere", "pod-1").then().statusCode(201);
    }
}
