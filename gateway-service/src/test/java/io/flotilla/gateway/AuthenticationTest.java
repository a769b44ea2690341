package io.flotilla.gateway;

import static io.flotilla.gateway.GatewayApi.ADMIN;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flotilla.testsupport.Hostile;
import io.flotilla.testsupport.Routes;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.vertx.ext.web.Router;
import jakarta.inject.Inject;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Every route of the gateway needs a credential; the executor's key (runScopes) opens and reads
 * run:* scopes of its own tenant and nothing else; scope parent chains cannot form cycles.
 */
@QuarkusTest
class AuthenticationTest {

    @Inject Router router;

    @TestHTTPResource("/")
    URI base;

    @Test
    void everyRouteAnswers401WithoutACredential() throws Exception {
        List<Routes.Route> routes = new ArrayList<>(Routes.jaxRs("io.flotilla.gateway"));
        assertEquals(18, routes.size(), "the gateway's JAX-RS routes changed: " + routes);
        router.getRoutes().stream()
                .filter(r -> r.getPath() != null && r.getPath().startsWith("/v1/"))
                .filter(r -> r.methods() != null)
                .forEach(
                        r ->
                                r.methods()
                                        .forEach(
                                                m ->
                                                        routes.add(
                                                                new Routes.Route(
                                                                        m.name(), r.getPath()))));
        assertEquals(21, routes.size(), "the OpenAI routes were not found: " + routes);
        assertEquals(
                List.of(), Hostile.openRoutes(base, routes), "routes open without a credential");
    }

    @Test
    void aRunScopeKeyOpensAndReadsRunScopesOfItsOwnTenantOnly() {
        GatewayApi.Key executor = GatewayApi.newKey(true, "fast");
        GatewayApi.Key other = GatewayApi.newKey(true, "fast");
        String bearer = "Bearer " + executor.secret();
        given().header("Authorization", bearer)
                .contentType(ContentType.JSON)
                .body(Map.of("tenant", executor.tenant(), "maxTokens", 500))
                .put("/admin/v1/scopes/run:" + executor.tenant())
                .then()
                .statusCode(200)
                .body("maxTokens", equalTo(500));
        given().header("Authorization", bearer)
                .get("/admin/v1/scopes/run:" + executor.tenant())
                .then()
                .statusCode(200);

        // a child run's scope nests in its parent run's, of the same tenant only
        given().header("Authorization", bearer)
                .contentType(ContentType.JSON)
                .body(Map.of("tenant", executor.tenant(), "parent", "run:" + executor.tenant()))
                .put("/admin/v1/scopes/run:child-" + executor.tenant())
                .then()
                .statusCode(200)
                .body("parent", equalTo("run:" + executor.tenant()));
        given().header("Authorization", "Bearer " + other.secret())
                .contentType(ContentType.JSON)
                .body(Map.of("tenant", other.tenant(), "parent", "run:" + executor.tenant()))
                .put("/admin/v1/scopes/run:child-" + other.tenant())
                .then()
                .statusCode(404);
        given().header("Authorization", bearer)
                .contentType(ContentType.JSON)
                .body(Map.of("tenant", executor.tenant(), "parent", "tenant:" + other.tenant()))
                .put("/admin/v1/scopes/run:child2-" + executor.tenant())
                .then()
                .statusCode(403)
                .body("detail", containsString("only in another run:* scope"));

        given().header("Authorization", bearer)
                .contentType(ContentType.JSON)
                .body(Map.of("tenant", other.tenant(), "maxTokens", 500))
                .put("/admin/v1/scopes/run:stolen-" + other.tenant())
                .then()
                .statusCode(403)
                .body("detail", containsString("own tenant"));
        given().header("Authorization", bearer)
                .contentType(ContentType.JSON)
                .body(Map.of("tenant", executor.tenant(), "maxTokens", 5_000_000))
                .put("/admin/v1/scopes/tenant:" + executor.tenant())
                .then()
                .statusCode(403)
                .body("detail", containsString("run:* scopes only"));
        given().header("Authorization", "Bearer " + other.secret())
                .get("/admin/v1/scopes/run:" + executor.tenant())
                .then()
                .statusCode(404);
        given().header("Authorization", bearer)
                .post("/admin/v1/scopes/run:" + executor.tenant() + "/pause")
                .then()
                .statusCode(403);
        given().header("Authorization", bearer)
                .delete("/admin/v1/scopes/run:" + executor.tenant())
                .then()
                .statusCode(403);
        given().header("Authorization", bearer).get("/admin/v1/tenants").then().statusCode(403);

        GatewayApi.Key plain = GatewayApi.newKey("fast");
        given().header("Authorization", "Bearer " + plain.secret())
                .get("/admin/v1/scopes/run:" + plain.tenant())
                .then()
                .statusCode(403)
                .body("detail", containsString("runScopes"));
    }

    @Test
    void aScopeCannotBecomeItsOwnAncestor() {
        GatewayApi.Key key = GatewayApi.newKey("fast");
        String t = key.tenant();
        GatewayApi.scope("team:a-" + t, Map.of("tenant", t));
        GatewayApi.scope("team:b-" + t, Map.of("tenant", t, "parent", "team:a-" + t));
        GatewayApi.scope("team:c-" + t, Map.of("tenant", t, "parent", "team:b-" + t));
        given().header("Authorization", ADMIN)
                .contentType(ContentType.JSON)
                .body(Map.of("tenant", t, "parent", "team:c-" + t))
                .put("/admin/v1/scopes/team:a-" + t)
                .then()
                .statusCode(400)
                .body("errors[0].field", equalTo("parent"))
                .body("errors[0].message", containsString("cycle"));
        given().header("Authorization", ADMIN)
                .get("/admin/v1/scopes/team:a-" + t)
                .then()
                .statusCode(200)
                .body("parent", org.hamcrest.Matchers.nullValue());
    }
}
