package io.flotilla.executor;

import static io.flotilla.executor.Api.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import io.flotilla.executor.fake.ExecutorTestResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.response.Response;
import jakarta.inject.Inject;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

@QuarkusTest
@QuarkusTestResource(ExecutorTestResource.class)
class WorkflowApiTest {

    @Inject DataSource db;

    private static Response put(String path, String contentType, String body) {
        return given().contentType(contentType)
                .body(body.getBytes(java.nio.charset.StandardCharsets.UTF_8))
                .put("/api/v1/workflows/" + path);
    }

    @Test
    void eachDistinctSpecIsAnImmutableRevision() throws Exception {
        String yaml = Files.readString(Path.of("../examples/research-brief.yaml"));
        Response first = put("team-a/research-brief", "application/yaml", yaml);
        first.then()
                .statusCode(201)
                .body("created", equalTo(true))
                .body("spec.steps.size()", equalTo(4));
        String revision = first.path("revision");
        put("team-a/research-brief", "application/yaml", yaml)
                .then()
                .statusCode(200)
                .body("revision", equalTo(revision))
                .body("created", equalTo(false));

        Response changed =
                put(
                        "team-a/research-brief",
                        "application/yaml",
                        yaml.replace("three section titles", "four section titles"));
        changed.then().statusCode(201);
        assertNotEquals(revision, changed.path("revision"));
        given().get("/api/v1/workflows/team-a/research-brief")
                .then()
                .statusCode(200)
                .body("revision", equalTo(changed.path("revision")))
                .body(
                        "spec.steps[0].agent.prompt",
                        equalTo("Outline a short brief on {{input.topic}}: four section titles."));
        assertEquals(
                2,
                count(
                        "SELECT count(*) FROM executor.workflow_revisions WHERE name = 'research-brief'"),
                "the old revision is kept for runs pinned to it");
    }

    @Test
    void anInvalidSpecIsRefusedWithEveryProblemAndNothingIsStored() throws Exception {
        String json =
                "{\"defaults\":{\"model\":\"fast\"},\"steps\":["
                        + "{\"id\":\"a\",\"needs\":[\"b\"],\"agent\":{\"prompt\":\"x\"}},"
                        + "{\"id\":\"b\",\"needs\":[\"a\"],\"agent\":{\"prompt\":\"x\"}},"
                        + "{\"id\":\"c\",\"needs\":[\"aa\"],\"when\":\"steps.a.output ==\",\"agent\":{\"prompt\":\"x\"}}]}";
        put("team-b/broken", "application/json", json)
                .then()
                .statusCode(400)
                .contentType(containsString("application/problem+json"))
                .body("errors.field", hasItem("steps.c.needs[0]"))
                .body("errors.message", hasItem(containsString("did you mean 'a'?")))
                .body("errors.message", hasItem(containsString("the needs form a cycle")))
                .body("errors.field", hasItem("steps.c.when"));
        put("team-b/broken", "application/yaml", "steps: [{id: a, agnet: {}}]")
                .then()
                .statusCode(400)
                .body("errors[0].field", equalTo("steps[0].agnet"));
        assertEquals(
                0,
                count(
                        "SELECT count(*) FROM executor.workflow_revisions WHERE namespace = 'team-b'"));
        given().get("/api/v1/workflows/team-b/broken")
                .then()
                .statusCode(404)
                .body("detail", containsString("publish it with PUT"));
    }

    @Test
    void deletingRemovesTheWorkflow() {
        put(
                        "team-c/short",
                        "application/yaml",
                        "defaults: {model: fast}\nsteps: [{id: only, agent: {prompt: hi}}]")
                .then()
                .statusCode(201);
        given().delete("/api/v1/workflows/team-c/short").then().statusCode(204);
        given().get("/api/v1/workflows/team-c/short").then().statusCode(404);
        given().delete("/api/v1/workflows/team-c/short").then().statusCode(404);
        given().get("/api/v1/workflows/Bad_NS/x").then().statusCode(400);
    }

    private long count(String sql) throws Exception {
        try (Connection c = db.getConnection();
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void workflowsAndRunsAreListedByNamespace() {
        Api.publish(
                "list-a",
                "one",
                "defaults: {model: fast}\nsteps: [{id: a, agent: {prompt: \"list1: a\"}}]");
        Api.publish(
                "list-a",
                "one",
                "defaults: {model: fast}\nsteps: [{id: a, agent: {prompt: \"list1: b\"}}]");
        Api.publish(
                "list-b",
                "two",
                "defaults: {model: fast}\nsteps: [{id: a, agent: {prompt: \"list1: c\"}}]");
        Api.given()
                .get("/api/v1/workflows?namespace=list-a")
                .then()
                .statusCode(200)
                .body("name", org.hamcrest.Matchers.contains("one"))
                .body("revisions", org.hamcrest.Matchers.contains(2));
        Api.given()
                .get("/api/v1/workflows")
                .then()
                .body("namespace", org.hamcrest.Matchers.hasItems("list-a", "list-b"));
        Api.given()
                .get("/api/v1/workflows/list-a/one/revisions")
                .then()
                .statusCode(200)
                .body("size()", org.hamcrest.Matchers.equalTo(2))
                .body("runs", org.hamcrest.Matchers.contains(0, 0));
        Api.given().get("/api/v1/workflows/list-a/none/revisions").then().statusCode(404);
        String a = Api.start("list-a/one", "{}");
        String b = Api.start("list-b/two", "{}");
        Api.given()
                .get("/api/v1/runs?namespace=list-b")
                .then()
                .statusCode(200)
                .body("id", org.hamcrest.Matchers.contains(b))
                .body("id", org.hamcrest.Matchers.not(org.hamcrest.Matchers.hasItem(a)));
        Api.given()
                .get(
                        "/api/v1/runs?namespace=list-b&since="
                                + java.time.Instant.now().plusSeconds(60))
                .then()
                .statusCode(200)
                .body("size()", org.hamcrest.Matchers.equalTo(0));
        Api.given()
                .get(
                        "/api/v1/runs?namespace=list-b&since="
                                + java.time.Instant.now().minusSeconds(600))
                .then()
                .body("id", org.hamcrest.Matchers.contains(b));
        Api.given()
                .get("/api/v1/runs?since=yesterday")
                .then()
                .statusCode(400)
                .body("errors.field", org.hamcrest.Matchers.hasItem("since"));
    }
}
