package io.flotilla.executor;

import static org.awaitility.Awaitility.await;

import io.restassured.RestAssured;
import io.restassured.path.json.JsonPath;
import io.restassured.specification.RequestSpecification;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;

/** The executor's HTTP API as the tests drive it. */
final class Api {

    /** The executor's admin token in tests (application.properties, %test profile). */
    static final String ADMIN = "test-executor-admin";

    private Api() {}

    /** A request with the admin token; tests of authentication itself use RestAssured's own. */
    static RequestSpecification given() {
        return RestAssured.given().header("Authorization", "Bearer " + ADMIN);
    }

    static void publish(String namespace, String name, String yaml) {
        given().contentType("application/yaml")
                .body(yaml.getBytes(StandardCharsets.UTF_8))
                .put("/api/v1/workflows/" + namespace + "/" + name)
                .then()
                .statusCode(
                        org.hamcrest.Matchers.anyOf(
                                org.hamcrest.Matchers.is(200), org.hamcrest.Matchers.is(201)));
    }

    static String start(String workflow, String inputJson) {
        return given().contentType("application/json")
                .body("{\"workflow\":\"" + workflow + "\",\"input\":" + inputJson + "}")
                .post("/api/v1/runs")
                .then()
                .statusCode(202)
                .extract()
                .path("id");
    }

    static JsonPath run(String id) {
        return given().get("/api/v1/runs/" + id).then().statusCode(200).extract().jsonPath();
    }

    /** Waits until the run ends and returns it. */
    static JsonPath ended(String id) {
        return ended(id, Duration.ofSeconds(30));
    }

    static JsonPath ended(String id, Duration atMost) {
        Set<String> done = Set.of("succeeded", "failed", "cancelled");
        await().atMost(atMost)
                .pollInterval(Duration.ofMillis(50))
                .until(() -> done.contains(run(id).getString("status")));
        return run(id);
    }

    /** The step (item null) or foreach item as the API shows it. */
    static java.util.Map<String, Object> step(JsonPath run, String id, Integer item) {
        return run.<java.util.Map<String, Object>>getList("steps").stream()
                .filter(
                        s ->
                                s.get("id").equals(id)
                                        && java.util.Objects.equals(s.get("item"), item))
                .findFirst()
                .orElseThrow(
                        () ->
                                new AssertionError(
                                        "no step " + id + "[" + item + "] in " + run.prettify()));
    }
}
