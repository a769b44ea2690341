package io.flotilla.registry;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;

import io.flotilla.testsupport.PostgresResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import org.junit.jupiter.api.Test;

@QuarkusTest
@QuarkusTestResource(PostgresResource.class)
class ServiceEndpointsTest {

    @Test
    void openApiDocumentDescribesTheAgentApi() {
        given().queryParam("format", "json")
                .get("/q/openapi")
                .then()
                .statusCode(200)
                .body(containsString("/api/v1/agents/{id}/heartbeat"))
                .body(containsString("/api/v1/tokens/verify"));
    }

    @Test
    void prometheusMetricsAreServed() {
        RegistryApi.register(RegistryApi.agent("metrics", "pod-m", 30)).then().statusCode(201);
        given().get("/q/metrics")
                .then()
                .statusCode(200)
                .body(containsString("flotilla_registry_registrations_total"))
                .body(containsString("flotilla_registry_active"));
    }

    @Test
    void unknownEndpointIsAProblemDocument() {
        given().get("/api/v1/nothing-here")
                .then()
                .statusCode(404)
                .contentType(containsString("application/problem+json"));
    }
}
