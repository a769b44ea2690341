package io.flotilla.gateway;

import static io.flotilla.gateway.GatewayApi.ADMIN;
import static io.flotilla.gateway.GatewayApi.chat;
import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.notNullValue;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import io.flotilla.gateway.fake.GatewayTestResource;
import io.flotilla.testsupport.ServiceSmokeTest;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.http.ContentType;
import io.restassured.response.Response;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Tenants, keys and routes through the admin API; the service's health and schema. */
@QuarkusTest
@QuarkusTestResource(GatewayTestResource.class)
class AdminApiTest extends ServiceSmokeTest {

    @jakarta.inject.Inject io.vertx.mutiny.sqlclient.Pool pool;

    @Override
    protected String schema() {
        return "gateway";
    }

    @Test
    void aKeyIsShownOnceStoredHashedAndRevokedOnTheNextRequest() throws Exception {
        given().header("Authorization", ADMIN)
                .contentType(ContentType.JSON)
                .body(Map.of("id", "acme", "displayName", "Acme"))
                .post("/admin/v1/tenants")
                .then()
                .statusCode(201)
                .body("id", equalTo("acme"));
        Response created =
                given().header("Authorization", ADMIN)
                        .contentType(ContentType.JSON)
                        .body(Map.of("name", "ci", "allowedModels", List.of("fast")))
                        .post("/admin/v1/tenants/acme/keys");
        created.then().statusCode(201).body("key", notNullValue()).body("prefix", notNullValue());
        String key = created.path("key");
        try (Connection c = db.getConnection();
                Statement s = c.createStatement();
                ResultSet rs =
                        s.executeQuery(
                                "SELECT key_hash, key_prefix FROM gateway.api_keys WHERE tenant_id = 'acme'")) {
            rs.next();
            assertEquals(32, rs.getBytes(1).length);
            assertFalse(key.equals(rs.getString(2)), "only a prefix of the key is stored in clear");
        }
        given().header("Authorization", ADMIN)
                .get("/admin/v1/tenants/acme/keys")
                .then()
                .statusCode(200)
                .body("[0].name", equalTo("ci"))
                .body("[0]", org.hamcrest.Matchers.not(org.hamcrest.Matchers.hasKey("key")));

        chat(key, "fast", "hi").then().statusCode(200);
        given().header("Authorization", ADMIN)
                .delete("/admin/v1/keys/" + created.path("id"))
                .then()
                .statusCode(204);
        chat(key, "fast", "hi")
                .then()
                .statusCode(401)
                .body("error.code", equalTo("invalid_api_key"));
    }

    @Test
    void theAdminListsATenantsScopesAndACredentialSaysWhoItIs() {
        GatewayApi.Key a = GatewayApi.newKey("fast");
        GatewayApi.scope(
                "team:list-" + a.tenant(), java.util.Map.of("tenant", a.tenant(), "maxTokens", 10));
        GatewayApi.scope("run:list-" + a.tenant(), java.util.Map.of("tenant", a.tenant()));
        given().header("Authorization", GatewayApi.ADMIN)
                .get("/admin/v1/scopes?tenant=" + a.tenant())
                .then()
                .statusCode(200)
                .body("scope", org.hamcrest.Matchers.hasItem("team:list-" + a.tenant()))
                .body(
                        "scope",
                        org.hamcrest.Matchers.not(
                                org.hamcrest.Matchers.hasItem("run:list-" + a.tenant())))
                .body(
                        "tenant",
                        org.hamcrest.Matchers.everyItem(org.hamcrest.Matchers.equalTo(a.tenant())));
        given().header("Authorization", GatewayApi.ADMIN)
                .get("/admin/v1/scopes?tenant=" + a.tenant() + "&runs=true")
                .then()
                .body("scope", org.hamcrest.Matchers.hasItem("run:list-" + a.tenant()));
        given().header("Authorization", "Bearer " + a.secret())
                .get("/admin/v1/scopes")
                .then()
                .statusCode(403);

        given().header("Authorization", "Bearer " + a.secret())
                .get("/api/v1/usage/me")
                .then()
                .statusCode(200)
                .body("admin", org.hamcrest.Matchers.equalTo(false))
                .body("tenant", org.hamcrest.Matchers.equalTo(a.tenant()))
                .body("keyId", org.hamcrest.Matchers.equalTo(a.id()));
        given().header("Authorization", GatewayApi.ADMIN)
                .get("/api/v1/usage/me")
                .then()
                .statusCode(200)
                .body("admin", org.hamcrest.Matchers.equalTo(true));
        given().header("Authorization", "Bearer nobody")
                .get("/api/v1/usage/me")
                .then()
                .statusCode(401);
    }

    @Test
    void adminErrorsAreProblemDocumentsThatSayWhatToFix() {
        given().contentType(ContentType.JSON)
                .body(Map.of("id", "x"))
                .post("/admin/v1/tenants")
                .then()
                .statusCode(401)
                .contentType(containsString("application/problem+json"));
        given().header("Authorization", "Bearer wrong")
                .get("/admin/v1/tenants")
                .then()
                .statusCode(403);
        given().header("Authorization", ADMIN)
                .contentType(ContentType.JSON)
                .body(Map.of("id", "Bad Id"))
                .post("/admin/v1/tenants")
                .then()
                .statusCode(400)
                .body("errors[0].field", equalTo("id"));
        given().header("Authorization", ADMIN)
                .contentType(ContentType.JSON)
                .body(Map.of("name", "k", "allowedModels", List.of("gpt-9")))
                .post("/admin/v1/tenants/nobody/keys")
                .then()
                .statusCode(400)
                .body("errors[0].message", containsString("'gpt-9' is not a model alias"));
        given().header("Authorization", ADMIN)
                .contentType(ContentType.JSON)
                .body(Map.of("name", "k", "allowedModels", List.of("fast")))
                .post("/admin/v1/tenants/nobody/keys")
                .then()
                .statusCode(404)
                .body("detail", containsString("create it first"));
        given().header("Authorization", ADMIN)
                .contentType(ContentType.JSON)
                .body(Map.of("id", "dup"))
                .post("/admin/v1/tenants")
                .then()
                .statusCode(201);
        given().header("Authorization", ADMIN)
                .contentType(ContentType.JSON)
                .body(Map.of("id", "dup"))
                .post("/admin/v1/tenants")
                .then()
                .statusCode(409);
    }

    @Test
    void routesSetThroughTheAdminApiServeAtOnceAndAreValidated() {
        given().header("Authorization", ADMIN)
                .contentType(ContentType.JSON)
                .body(
                        Map.of(
                                "targets",
                                List.of(
                                        Map.of(
                                                "provider",
                                                "mock",
                                                "model",
                                                "mock-admin",
                                                "contextWindow",
                                                4000))))
                .put("/admin/v1/routes/custom")
                .then()
                .statusCode(204);
        given().header("Authorization", ADMIN)
                .get("/admin/v1/routes")
                .then()
                .statusCode(200)
                .body("custom.targets[0].id", equalTo("mock/mock-admin"));
        String key = GatewayApi.key("custom");
        chat(key, "custom", "hi").then().statusCode(200).header("x-flotilla-model", "mock-admin");

        given().header("Authorization", ADMIN)
                .contentType(ContentType.JSON)
                .body(Map.of("targets", List.of(Map.of("provider", "nowhere", "model", ""))))
                .put("/admin/v1/routes/broken")
                .then()
                .statusCode(400)
                .body("errors.field", hasItem("routes.broken.targets[0].provider"))
                .body("errors.field", hasItem("routes.broken.targets[0].model"));
        given().header("Authorization", ADMIN)
                .delete("/admin/v1/routes/custom")
                .then()
                .statusCode(204);
        chat(key, "custom", "hi").then().statusCode(404);
    }

    @Test
    void aStoredRouteWhoseProviderIsGoneIsReportedAndTheOthersStillServe() {
        // as if the routes file had lost the provider 'retired' after this route was stored
        pool.preparedQuery("INSERT INTO gateway.routes (alias, spec) VALUES ($1, $2::jsonb)")
                .execute(
                        io.vertx.mutiny.sqlclient.Tuple.of(
                                "stale",
                                new io.vertx.core.json.JsonObject(
                                        "{\"targets\":[{\"provider\":\"retired\",\"model\":\"m\"}]}")))
                .await()
                .atMost(java.time.Duration.ofSeconds(5));
        try {
            given().header("Authorization", ADMIN)
                    .contentType(ContentType.JSON)
                    .body(
                            Map.of(
                                    "targets",
                                    List.of(Map.of("provider", "mock", "model", "mock-ok"))))
                    .put("/admin/v1/routes/healthy") // stores and reloads every stored route
                    .then()
                    .statusCode(204);
            given().header("Authorization", ADMIN)
                    .get("/admin/v1/routes")
                    .then()
                    .statusCode(200)
                    .body("stale.unserved", containsString("'retired' is not a provider"))
                    .body("healthy.targets[0].id", equalTo("mock/mock-ok"));
            String key = GatewayApi.key("healthy");
            chat(key, "healthy", "hi").then().statusCode(200);
            chat(key, "stale", "hi").then().statusCode(404);
        } finally {
            pool.preparedQuery("DELETE FROM gateway.routes WHERE alias IN ('stale', 'healthy')")
                    .execute()
                    .await()
                    .atMost(java.time.Duration.ofSeconds(5));
        }
    }

    @Test
    void mockProviderIsDeterministicAndCountsRealUsage() {
        String key = GatewayApi.key("fast");
        Response a = chat(key, "fast", "Say something about fleets");
        Response b = chat(key, "fast", "Say something about fleets");
        a.then().statusCode(200).body("choices[0].message.content", containsString("[mock]"));
        assertEquals(
                a.path("choices[0].message.content").toString(),
                b.path("choices[0].message.content").toString());
        int prompt = a.path("usage.prompt_tokens");
        int completion = a.path("usage.completion_tokens");
        org.junit.jupiter.api.Assertions.assertTrue(
                prompt > 5 && completion > 5, "usage " + prompt + "/" + completion);

        chat(
                        key,
                        Map.of(
                                "model",
                                "fast",
                                "messages",
                                List.of(Map.of("role", "user", "content", "outline")),
                                "response_format",
                                Map.of(
                                        "type",
                                        "json_schema",
                                        "json_schema",
                                        Map.of(
                                                "name",
                                                "o",
                                                "schema",
                                                Map.of(
                                                        "type",
                                                        "object",
                                                        "properties",
                                                        Map.of(
                                                                "sections",
                                                                Map.of(
                                                                        "type",
                                                                        "array",
                                                                        "items",
                                                                        Map.of(
                                                                                "type",
                                                                                "string"))))))))
                .then()
                .statusCode(200)
                .body("choices[0].message.content", containsString("\"sections\":["));
    }

    @Test
    void embeddingsRouteToTheirTarget() {
        String key = GatewayApi.key("embed");
        given().header("Authorization", "Bearer " + key)
                .contentType(ContentType.JSON)
                .body(Map.of("model", "embed", "input", "hello"))
                .post("/v1/embeddings")
                .then()
                .statusCode(200)
                .body("object", equalTo("list"))
                .body("data[0].embedding.size()", equalTo(3))
                .header("x-flotilla-model", "emb-model");
    }
}
