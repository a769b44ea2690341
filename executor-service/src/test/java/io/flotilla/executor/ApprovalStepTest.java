package io.flotilla.executor;

import static org.awaitility.Awaitility.await;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasItem;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.executor.fake.ExecutorTestResource;
import io.flotilla.executor.fake.FakeGateway;
import io.flotilla.executor.fake.FakeGateway.Reply;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/** {@code approval} steps: a person's decision, awaited durably, taken once, as the output. */
@QuarkusTest
@QuarkusTestResource(ExecutorTestResource.class)
class ApprovalStepTest {

    /** Draft, approve, publish if approved; the agent prompts start with {@code marker}. */
    private static String flow(String marker) {
        return """
            defaults: {model: fast}
            steps:
              - {id: draft, agent: {prompt: "MARKER draft"}}
              - {id: approve, needs: [draft], approval: {}}
              - {id: publish, needs: [approve], when: "steps.approve.output.decision == 'approved'",
                 agent: {prompt: "MARKER publish"}}
            """
                .replace("MARKER", marker);
    }

    @Inject DataSource db;

    private String query(String sql, String runId) throws Exception {
        try (Connection c = db.getConnection();
                PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setObject(1, UUID.fromString(runId));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    private String approveStatus(String runId) throws Exception {
        return query(
                "SELECT status || '/' || coalesce(lease_owner, '-') FROM executor.steps"
                        + " WHERE run_id = ? AND step_id = 'approve'",
                runId);
    }

    private static io.restassured.response.ValidatableResponse decide(
            String runId, String verb, String body) {
        return Api.given()
                .contentType("application/json")
                .body(body)
                .post("/api/v1/runs/" + runId + "/steps/approve/" + verb)
                .then();
    }

    private String awaiting(String name) throws Exception {
        String id = Api.start("approvals/" + name, "{}");
        await().atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> "awaiting_approval/-".equals(approveStatus(id)));
        return id;
    }

    @Test
    void anApprovedStepGivesItsDecisionAsOutputAndTheRunGoesOn() throws Exception {
        FakeGateway.script("approval1:", c -> Reply.ok("text"));
        Api.publish("approvals", "flow", flow("approval1:"));
        String id = awaiting("flow");
        assertEquals(
                "awaiting_approval",
                Api.step(Api.run(id), "approve", null).get("status"),
                "the API shows it; no executor holds it");
        assertEquals(
                "step.awaiting_approval",
                query(
                        "SELECT type FROM executor.events WHERE run_id = ? AND step_id = 'approve'"
                                + " ORDER BY id DESC LIMIT 1",
                        id),
                "the run's event stream says so");

        decide(id, "approve", "{\"by\":\"alice\",\"comment\":\"ship it\"}").statusCode(202);
        decide(id, "reject", "{\"by\":\"mallory\"}")
                .statusCode(409)
                .body("detail", containsString("not awaiting approval"));

        JsonPath run = Api.ended(id);
        assertEquals("succeeded", run.getString("status"), run.prettify());
        Map<String, Object> approve = Api.step(run, "approve", null);
        @SuppressWarnings("unchecked")
        Map<String, Object> output = (Map<String, Object>) approve.get("output");
        assertEquals("approved", output.get("decision"));
        assertEquals("alice", output.get("by"));
        assertEquals("ship it", output.get("comment"));
        assertEquals("succeeded", Api.step(run, "publish", null).get("status"));
        assertEquals(2, FakeGateway.calls("approval1:").size(), "draft and publish, once each");
        assertEquals(
                "admin-token",
                query("SELECT caller FROM executor.decisions WHERE run_id = ?", id),
                "who the API authenticated is kept with the decision");
    }

    @Test
    void aRejectedStepGivesItsDecisionAndTheStepsThatAskForApprovalAreSkipped() throws Exception {
        FakeGateway.script("approval3:", c -> Reply.ok("text"));
        Api.publish("approvals", "flow-reject", flow("approval3:"));
        String id = awaiting("flow-reject");

        decide(id, "reject", "{\"by\":\"bob\",\"comment\":\"not yet\"}").statusCode(202);

        JsonPath run = Api.ended(id);
        assertEquals("succeeded", run.getString("status"), run.prettify());
        assertEquals(
                "rejected", run.getString("steps.find { it.id == 'approve' }.output.decision"));
        assertEquals("skipped", Api.step(run, "publish", null).get("status"));
        assertEquals(1, FakeGateway.calls("approval3:").size(), "the draft only");
    }

    @Test
    void theReleaseGateExampleRunsEndToEndOnceApproved() throws Exception {
        FakeGateway.script("Write release notes", c -> Reply.ok("- faster"));
        FakeGateway.script("Announce this release", c -> Reply.ok("Released."));
        Api.publish(
                "approvals",
                "release-gate",
                java.nio.file.Files.readString(
                        java.nio.file.Path.of("../examples/release-gate.yaml")));
        String id = Api.start("approvals/release-gate", "{\"change\":\"tide tables\"}");
        await().atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> "awaiting_approval/-".equals(approveStatus(id)));

        decide(id, "approve", "{\"by\":\"release-manager\"}").statusCode(202);

        JsonPath run = Api.ended(id, Duration.ofSeconds(30));
        assertEquals("succeeded", run.getString("status"), run.prettify());
        assertEquals("Released.", run.getString("output"));
        Map<String, Object> settle = Api.step(run, "settle", null);
        assertTrue(
                !Instant.parse((String) settle.get("finishedAt"))
                        .isBefore(Instant.parse((String) settle.get("startedAt")).plusSeconds(3)),
                "the timer held the announcement for its 3 s");
        assertTrue(
                FakeGateway.calls("Announce this release")
                        .get(0)
                        .prompt()
                        .contains("approved by release-manager"));
    }

    @Test
    void whenTheTimeoutPassesOnTimeoutDecides() {
        Api.publish(
                "approvals",
                "timeout",
                """
                defaults: {model: fast}
                steps:
                  - {id: approve, approval: {timeout: 2s, onTimeout: approve}}
                """);
        JsonPath run = Api.ended(Api.start("approvals/timeout", "{}"));
        assertEquals("succeeded", run.getString("status"), run.prettify());
        Map<String, Object> approve = Api.step(run, "approve", null);
        assertEquals("approved", run.getString("output.decision"));
        assertEquals("timeout", run.getString("output.by"));
        assertEquals(
                Instant.parse((String) approve.get("startedAt")).plusSeconds(2),
                Instant.parse(run.getString("output.decidedAt")));
    }

    @Test
    void decisionsOnStepsNotAwaitingOrUnknownOrWithoutADeciderAreRefused() throws Exception {
        FakeGateway.script("approval2:", c -> Reply.ok("slow").after(3_000));
        Api.publish(
                "approvals",
                "early",
                """
                defaults: {model: fast}
                steps:
                  - {id: draft, agent: {prompt: "approval2: draft"}}
                  - {id: approve, needs: [draft], approval: {}}
                """);
        String id = Api.start("approvals/early", "{}");
        decide(id, "approve", "{\"by\":\"alice\"}")
                .statusCode(409)
                .body("detail", containsString("is waiting, not awaiting approval"));
        decide(id, "approve", "{\"comment\":\"who am I\"}")
                .statusCode(400)
                .body("errors.field", hasItem("by"));
        Api.given()
                .contentType("application/json")
                .body("{\"by\":\"alice\"}")
                .post("/api/v1/runs/" + id + "/steps/nope/approve")
                .then()
                .statusCode(404);
        assertNull(query("SELECT decision FROM executor.decisions WHERE run_id = ?", id));
        Api.given().post("/api/v1/runs/" + id + "/cancel").then().statusCode(202);
        assertTrue(Api.ended(id).getString("status").equals("cancelled"));
    }

    @Test
    void onTimeoutNeedsATimeoutAndAnApprovalCannotLoop() {
        Api.given()
                .contentType("application/yaml")
                .body(
                        """
                steps:
                  - {id: a, approval: {onTimeout: approve}}
                  - {id: b, approval: {timeout: 1h, onTimeout: maybe}}
                  - {id: c, approval: {}, loop: {until: "true", maxIterations: 2}}
                """
                                .getBytes())
                .put("/api/v1/workflows/approvals/invalid")
                .then()
                .statusCode(400)
                .body("errors.field", hasItem("steps.a.approval.onTimeout"))
                .body("errors.field", hasItem("steps.b.approval.onTimeout"))
                .body("errors.field", hasItem("steps.c.loop"));
    }
}
