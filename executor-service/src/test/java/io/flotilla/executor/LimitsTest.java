package io.flotilla.executor;

import static io.flotilla.executor.Api.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.executor.fake.ExecutorTestResource;
import io.flotilla.executor.fake.FakeGateway;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * Every limit of the executor refuses what is over it with a message that names the limit and its
 * value: request bodies, run inputs, schemas that reach outside, foreach fan-outs, rendered
 * prompts. A schema pattern runs in linear time.
 */
@QuarkusTest
@QuarkusTestResource(ExecutorTestResource.class)
class LimitsTest {

    @Test
    void aBodyOverTheLimitIsRefusedBeforeItIsRead() {
        given().contentType("application/json")
                .body(("{\"workflow\":\"x/y\",\"input\":\"" + "a".repeat(1_100_000) + "\"}"))
                .post("/api/v1/runs")
                .then()
                .statusCode(413)
                .contentType(containsString("application/problem+json"))
                .body("detail", containsString("at most 1048576 (flotilla.max-body-bytes)"));
    }

    @Test
    void aRunInputOverTheLimitIsRefused() {
        Api.publish(
                "limits",
                "input",
                "defaults: {model: fast}\nsteps: [{id: a, agent: {prompt: x}}]\n");
        given().contentType("application/json")
                .body(
                        "{\"workflow\":\"limits/input\",\"input\":{\"t\":\""
                                + "a".repeat(300_000)
                                + "\"}}")
                .post("/api/v1/runs")
                .then()
                .statusCode(400)
                .body(
                        "errors.message",
                        hasItem(
                                containsString(
                                        "at most 262144 (flotilla.executor.limits.input-bytes)")));
    }

    @Test
    void aSchemaThatReachesOutsideIsRefusedAtPublish() {
        given().contentType("application/yaml")
                .body(
                        """
                        defaults: {model: fast}
                        input: {schema: {type: object, properties: {a: {$ref: "http://169.254.169.254/latest"}}}}
                        steps: [{id: a, agent: {prompt: x}}]
                        """
                                .getBytes(StandardCharsets.UTF_8))
                .put("/api/v1/workflows/limits/remote")
                .then()
                .statusCode(400)
                .body("errors.field", hasItem("input.schema.properties.a.$ref"));
    }

    @Test
    void aCatastrophicPatternRunsInLinearTime() {
        // ^(a+)+$ against 'aaaa…!' backtracks 2^n times in java.util.regex; RE2J answers at once
        Api.publish(
                "limits",
                "pattern",
                """
                defaults: {model: fast}
                input: {schema: {type: object, properties: {w: {type: string, pattern: "^(a+)+$"}}}}
                steps: [{id: a, agent: {prompt: x}}]
                """);
        given().contentType("application/json")
                .body(
                        "{\"workflow\":\"limits/pattern\",\"input\":{\"w\":\""
                                + "a".repeat(64)
                                + "!\"}}")
                .post("/api/v1/runs")
                .then()
                .statusCode(400)
                .body("errors.field", hasItem("input"));
    }

    @Test
    void aForeachOverTheLimitFailsTheRunNamingTheLimit() {
        Api.publish(
                "limits",
                "fanout",
                """
                defaults: {model: fast}
                steps:
                  - {id: each, foreach: input.items, agent: {prompt: "fan1: {{item}}"}}
                """);
        StringBuilder items = new StringBuilder("[0");
        for (int i = 1; i < 1001; i++) {
            items.append(',').append(i);
        }
        JsonPath run = Api.ended(Api.start("limits/fanout", "{\"items\":" + items + "]}"));
        assertEquals("failed", run.getString("status"));
        assertTrue(
                run.getString("reason")
                        .contains("gave 1001 items; a foreach fans out to at most 1000"),
                run.getString("reason"));
        assertEquals(0, FakeGateway.calls("fan1:").size(), "no item ran");
    }

    @Test
    void aRenderedPromptOverTheLimitFailsTheStepBeforeAnyCall() {
        Api.publish(
                "limits",
                "prompt",
                """
                defaults: {model: fast}
                steps:
                  - {id: big, agent: {prompt: "big1: {{input.text}}{{input.text}}"}}
                """);
        JsonPath run =
                Api.ended(Api.start("limits/prompt", "{\"text\":\"" + "a".repeat(200_000) + "\"}"));
        assertEquals("failed", run.getString("status"));
        assertTrue(
                run.getString("reason").contains("(flotilla.executor.limits.template-chars)"),
                run.getString("reason"));
        assertEquals(0, FakeGateway.calls("big1:").size(), "no call was paid for");
    }

    @Test
    void eventStreamsPerPodAreCapped() throws Exception {
        FakeGateway.script("sse1:", c -> FakeGateway.Reply.ok("late").after(20_000));
        Api.publish(
                "limits",
                "watched",
                "defaults: {model: fast}\nsteps: [{id: a, agent: {prompt: \"sse1: go\"}}]\n");
        String run = Api.start("limits/watched", "{}");
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        java.net.URI events =
                java.net.URI.create(
                        io.restassured.RestAssured.baseURI
                                + ":"
                                + io.restassured.RestAssured.port
                                + "/api/v1/runs/"
                                + run
                                + "/events");
        java.util.List<java.util.concurrent.CompletableFuture<?>> open =
                new java.util.ArrayList<>();
        for (int i = 0; i < 8; i++) {
            var response =
                    http.send(
                            java.net.http.HttpRequest.newBuilder(events)
                                    .header("Authorization", "Bearer " + Api.ADMIN)
                                    .build(),
                            java.net.http.HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, response.statusCode());
            open.add(java.util.concurrent.CompletableFuture.runAsync(() -> drain(response.body())));
        }
        given().get("/api/v1/runs/" + run + "/events")
                .then()
                .statusCode(503)
                .body("detail", containsString("flotilla.executor.limits.event-streams"));
        given().post("/api/v1/runs/" + run + "/cancel").then().statusCode(202);
        for (var stream : open) {
            stream.get(10, java.util.concurrent.TimeUnit.SECONDS); // each ends with the run
        }
        org.awaitility.Awaitility.await()
                .atMost(java.time.Duration.ofSeconds(5))
                .until(() -> given().get("/api/v1/runs/" + run + "/events").statusCode() == 200);
    }

    private static void drain(java.io.InputStream body) {
        try (body) {
            body.transferTo(java.io.OutputStream.nullOutputStream());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
