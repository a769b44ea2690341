package io.flotilla.gateway;

import static io.restassured.RestAssured.given;

import io.restassured.http.ContentType;
import io.restassured.response.Response;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** Helpers over the gateway's admin API and /v1, shared by its tests. */
final class GatewayApi {

    static final String ADMIN = "Bearer test-gateway-admin";

    private GatewayApi() {}

    /** A tenant, one of its keys and the key's secret. */
    record Key(String tenant, String id, String secret) {}

    /** A fresh tenant with one key for these aliases; returns the key secret. */
    static String key(String... aliases) {
        return newKey(aliases).secret();
    }

    static Key newKey(String... aliases) {
        return newKey(false, aliases);
    }

    /** A fresh tenant with one key; {@code runScopes}: the key may open its run:* scopes. */
    static Key newKey(boolean runScopes, String... aliases) {
        String tenant = "t-" + UUID.randomUUID().toString().substring(0, 8);
        given().header("Authorization", ADMIN)
                .contentType(ContentType.JSON)
                .body(Map.of("id", tenant, "displayName", "Test tenant"))
                .post("/admin/v1/tenants")
                .then()
                .statusCode(201);
        Response r =
                given().header("Authorization", ADMIN)
                        .contentType(ContentType.JSON)
                        .body(
                                Map.of(
                                        "name",
                                        "test key",
                                        "allowedModels",
                                        List.of(aliases),
                                        "runScopes",
                                        runScopes))
                        .post("/admin/v1/tenants/" + tenant + "/keys");
        r.then().statusCode(201);
        return new Key(tenant, r.path("id"), r.path("key"));
    }

    /** The key's tenant's usage (ledger totals), grouped by model, key, tenant or day. */
    static List<Map<String, Object>> usage(Key key, String groupBy) {
        return given().header("Authorization", "Bearer " + key.secret())
                .queryParam("groupBy", groupBy)
                .get("/api/v1/usage")
                .then()
                .statusCode(200)
                .extract()
                .jsonPath()
                .getList("$");
    }

    /** Sets the limits of a scope (admin API). */
    static void scope(String scope, Map<String, ?> limits) {
        given().header("Authorization", ADMIN)
                .contentType(ContentType.JSON)
                .body(limits)
                .put("/admin/v1/scopes/" + scope)
                .then()
                .statusCode(200);
    }

    static Map<String, Object> account(String scope) {
        return given().header("Authorization", ADMIN)
                .get("/admin/v1/scopes/" + scope)
                .then()
                .statusCode(200)
                .extract()
                .as(Map.class);
    }

    static Response chat(String key, String model, String prompt) {
        return chat(
                key,
                Map.of(
                        "model",
                        model,
                        "messages",
                        List.of(Map.of("role", "user", "content", prompt))));
    }

    static Response chat(String key, Map<String, ?> body) {
        return given().header("Authorization", "Bearer " + key)
                .contentType(ContentType.JSON)
                .body(body)
                .post("/v1/chat/completions");
    }
}
