package io.flotilla.executor;

import static io.flotilla.executor.Api.given;
import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.executor.fake.ExecutorTestResource;
import io.flotilla.executor.fake.FakeGateway;
import io.flotilla.executor.fake.FakeGateway.Reply;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * The runs API: creation (idempotent, validated), reading, listing, cancelling, following as SSE.
 */
@QuarkusTest
@QuarkusTestResource(ExecutorTestResource.class)
class RunApiTest {

    private static final String TWO_STEPS =
            """
            input: {schema: {type: object, required: [topic], properties: {topic: {type: string, minLength: 2}}}}
            defaults: {model: fast}
            steps:
              - {id: a, agent: {prompt: "MARKER a {{input.topic}}"}}
              - {id: b, needs: [a], agent: {prompt: "MARKER b {{steps.a.output}}"}}
            """;

    @Inject DataSource db;

    @TestHTTPResource("/")
    URL base;

    private final HttpClient http = HttpClient.newHttpClient();

    private long count(String sql) throws Exception {
        try (Connection c = db.getConnection();
                ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private HttpResponse<String> post(String body) throws Exception {
        return http.send(
                HttpRequest.newBuilder(base.toURI().resolve("/api/v1/runs"))
                        .header("Authorization", "Bearer " + Api.ADMIN)
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(body))
                        .build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void theSameIdempotencyKeyAnswersTheSameRunEvenUnderConcurrency() throws Exception {
        Api.publish("api", "idem", TWO_STEPS.replace("MARKER", "idem1:"));
        String body =
                "{\"workflow\":\"api/idem\",\"input\":{\"topic\":\"owls\"},\"idempotencyKey\":\"order-42\"}";
        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            calls.add(
                    CompletableFuture.supplyAsync(
                            () -> {
                                try {
                                    return post(body);
                                } catch (Exception e) {
                                    throw new IllegalStateException(e);
                                }
                            }));
        }
        Set<String> ids = new HashSet<>();
        for (var call : calls) {
            HttpResponse<String> r = call.get();
            assertEquals(202, r.statusCode(), r.body());
            ids.add(JsonPath.from(r.body()).getString("id"));
        }
        assertEquals(1, ids.size(), "one run for one key");
        assertEquals(
                1,
                count("SELECT count(*) FROM executor.runs WHERE idempotency_key = 'api/order-42'"),
                "keys are stored per namespace");
        HttpResponse<String> again = post(body);
        assertEquals("true", again.headers().firstValue("Idempotent-Replayed").orElse(""));
        assertEquals(ids.iterator().next(), JsonPath.from(again.body()).getString("id"));
        assertEquals("succeeded", Api.ended(ids.iterator().next()).getString("status"));
        assertEquals(2, FakeGateway.calls("idem1:").size(), "the run ran once");

        HttpResponse<String> other = post(body.replace("owls", "bats"));
        assertEquals(409, other.statusCode());
        assertTrue(other.body().contains("different workflow, input or budget"), other.body());

        Api.publish("api-other", "idem", TWO_STEPS.replace("MARKER", "idem2:"));
        HttpResponse<String> elsewhere = post(body.replace("api/idem", "api-other/idem"));
        assertEquals(202, elsewhere.statusCode(), elsewhere.body());
        assertEquals("false", elsewhere.headers().firstValue("Idempotent-Replayed").orElse(""));
        assertNotEquals(
                ids.iterator().next(),
                JsonPath.from(elsewhere.body()).getString("id"),
                "another namespace's key neither replays nor reveals this run");
    }

    @Test
    void inputIsCheckedAgainstTheWorkflowsSchemaAndNothingIsStoredWhenItFails() throws Exception {
        Api.publish("api", "checked", TWO_STEPS.replace("MARKER", "checked1:"));
        long before = count("SELECT count(*) FROM executor.runs");
        given().contentType("application/json")
                .body("{\"workflow\":\"api/checked\",\"input\":{\"topic\":7}}")
                .post("/api/v1/runs")
                .then()
                .statusCode(400)
                .contentType("application/problem+json")
                .body("errors.field", hasItem("input"))
                .body("errors.message", hasItem(containsString("topic")));
        given().contentType("application/json")
                .body("{\"workflow\":\"api/checked\",\"input\":{}}")
                .post("/api/v1/runs")
                .then()
                .statusCode(400)
                .body("errors.message", hasItem(containsString("topic")));
        given().contentType("application/json")
                .body("{\"workflow\":\"api/missing\",\"input\":{}}")
                .post("/api/v1/runs")
                .then()
                .statusCode(404)
                .body("detail", containsString("publish it first"));
        given().contentType("application/json")
                .body("{\"workflow\":\"Not A Name\",\"budget\":{\"maxTokens\":0}}")
                .post("/api/v1/runs")
                .then()
                .statusCode(400)
                .body("errors.field", hasItem("workflow"))
                .body("errors.field", hasItem("budget"));
        given().contentType("application/json")
                .body("{\"workflow\":")
                .post("/api/v1/runs")
                .then()
                .statusCode(400);
        assertEquals(before, count("SELECT count(*) FROM executor.runs"), "nothing stored");
        assertTrue(FakeGateway.calls("checked1:").isEmpty());
    }

    @Test
    void cancellingStopsNewStepsAtOnceAndMarksTheStepInFlightWhenItReturns() {
        FakeGateway.script("cancel1: a", c -> Reply.ok("slow answer").after(1500));
        Api.publish("api", "cancel", TWO_STEPS.replace("MARKER", "cancel1:"));
        String id = Api.start("api/cancel", "{\"topic\":\"owls\"}");
        await().atMost(Duration.ofSeconds(10))
                .until(() -> !FakeGateway.calls("cancel1: a").isEmpty());

        given().post("/api/v1/runs/" + id + "/cancel")
                .then()
                .statusCode(202)
                .body("status", equalTo("cancelled"));
        JsonPath run = Api.run(id);
        assertEquals("cancelled", run.getString("status"));
        assertEquals(
                "cancelled",
                Api.step(run, "b", null).get("status"),
                "steps not started are cancelled at once");
        assertEquals(
                "cancelling",
                Api.step(run, "a", null).get("status"),
                "the step in flight is still out");

        await().atMost(Duration.ofSeconds(10))
                .until(() -> "cancelled".equals(Api.step(Api.run(id), "a", null).get("status")));
        run = Api.run(id);
        assertEquals(
                15,
                ((Number) Api.step(run, "a", null).get("tokens")).intValue(),
                "what the returning call spent is kept");
        assertEquals(15, run.getLong("tokens"));
        assertTrue(FakeGateway.calls("cancel1: b").isEmpty(), "no step starts after the cancel");
        given().post("/api/v1/runs/" + id + "/cancel")
                .then()
                .statusCode(202)
                .body("status", equalTo("cancelled"));
    }

    @Test
    void cancellingAFinishedRunIsAConflict() {
        Api.publish("api", "finished", TWO_STEPS.replace("MARKER", "finished1:"));
        String id = Api.start("api/finished", "{\"topic\":\"owls\"}");
        Api.ended(id);
        given().post("/api/v1/runs/" + id + "/cancel")
                .then()
                .statusCode(409)
                .body("detail", containsString("already ended as succeeded"));
        given().post("/api/v1/runs/not-a-uuid/cancel").then().statusCode(404);
    }

    @Test
    void eventsStreamTheRunsProgressAndEndWithIt() throws Exception {
        FakeGateway.script("events1:", c -> Reply.ok("fine").after(100));
        Api.publish("api", "events", TWO_STEPS.replace("MARKER", "events1:"));
        String id = Api.start("api/events", "{\"topic\":\"owls\"}");
        HttpResponse<String> stream =
                http.send(
                        HttpRequest.newBuilder(
                                        base.toURI().resolve("/api/v1/runs/" + id + "/events"))
                                .header("Authorization", "Bearer " + Api.ADMIN)
                                .timeout(Duration.ofSeconds(30))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());

        assertEquals(200, stream.statusCode());
        assertTrue(
                stream.headers()
                        .firstValue("Content-Type")
                        .orElse("")
                        .startsWith("text/event-stream"));
        List<String> names =
                stream.body()
                        .lines()
                        .filter(l -> l.startsWith("event:"))
                        .map(l -> l.substring(6).trim())
                        .toList();
        assertEquals(
                List.of("run.started", "step.succeeded", "step.succeeded", "run.succeeded"),
                names,
                stream.body());
        assertTrue(stream.body().contains("\"step\":\"a\""), stream.body());

        // resuming after the first event gives the rest
        HttpResponse<String> resumed =
                http.send(
                        HttpRequest.newBuilder(
                                        base.toURI().resolve("/api/v1/runs/" + id + "/events"))
                                .header("Authorization", "Bearer " + Api.ADMIN)
                                .header(
                                        "Last-Event-ID",
                                        stream.body()
                                                .lines()
                                                .filter(l -> l.startsWith("id:"))
                                                .findFirst()
                                                .orElseThrow()
                                                .substring(3)
                                                .trim())
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertEquals(
                3,
                resumed.body().lines().filter(l -> l.startsWith("event:")).count(),
                resumed.body());
    }

    @Test
    void runsAreListedByWorkflowAndStatus() {
        Api.publish("api", "listed", TWO_STEPS.replace("MARKER", "listed1:"));
        String first = Api.start("api/listed", "{\"topic\":\"one\"}");
        String second = Api.start("api/listed", "{\"topic\":\"two\"}");
        Api.ended(first);
        Api.ended(second);
        List<String> ids =
                given().get("/api/v1/runs?workflow=api/listed&status=succeeded")
                        .then()
                        .statusCode(200)
                        .extract()
                        .jsonPath()
                        .getList("id");
        assertEquals(List.of(second, first), ids, "newest first");
        given().get("/api/v1/runs?workflow=api/listed&status=failed")
                .then()
                .statusCode(200)
                .body("size()", equalTo(0));
        given().get("/api/v1/runs?status=sideways")
                .then()
                .statusCode(400)
                .body("errors.field", hasItem("status"));
        given().get("/api/v1/runs/" + java.util.UUID.randomUUID()).then().statusCode(404);
    }

    @Test
    void aRunsBudgetMayLowerTheWorkflowsButNeverRaiseIt() {
        Api.publish(
                "api",
                "budgeted",
                """
                defaults: {model: fast}
                budget: {maxTokens: 1000, maxCostUsd: 0.5}
                steps: [{id: a, agent: {prompt: "budget1: go"}}]
                """);
        given().contentType("application/json")
                .body(
                        "{\"workflow\":\"api/budgeted\",\"budget\":{\"maxTokens\":2000,\"maxCostUsd\":1.0}}")
                .post("/api/v1/runs")
                .then()
                .statusCode(400)
                .body("errors.field", hasItem("budget.maxTokens"))
                .body("errors.field", hasItem("budget.maxCostUsd"))
                .body("errors[0].message", containsString("the workflow's own budget"));
        String lowered =
                given().contentType("application/json")
                        .body("{\"workflow\":\"api/budgeted\",\"budget\":{\"maxTokens\":500}}")
                        .post("/api/v1/runs")
                        .then()
                        .statusCode(202)
                        .extract()
                        .path("id");
        Api.ended(lowered);
        io.vertx.core.json.JsonObject scope = FakeGateway.scope("run:" + lowered);
        assertEquals(500L, scope.getLong("maxTokens"), "the lower token budget is the run's");
        assertEquals(0.5, scope.getDouble("maxCostUsd"), "the workflow's cost budget still holds");
    }
}
