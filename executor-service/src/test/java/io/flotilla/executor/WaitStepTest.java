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

/** {@code wait} steps: durable timers that hold no executor while they wait. */
@QuarkusTest
@QuarkusTestResource(ExecutorTestResource.class)
class WaitStepTest {

    @Inject DataSource db;

    /** The wait step's row: status, lease owner, and when it may be claimed again. */
    private Object[] row(String runId) throws Exception {
        try (Connection c = db.getConnection();
                PreparedStatement ps =
                        c.prepareStatement(
                                "SELECT status, lease_owner, not_before FROM executor.steps"
                                        + " WHERE run_id = ? AND step_id = 'pause'")) {
            ps.setObject(1, UUID.fromString(runId));
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next()
                        ? new Object[] {rs.getString(1), rs.getString(2), rs.getTimestamp(3)}
                        : null;
            }
        }
    }

    @Test
    void aWaitStepHoldsNoExecutorWhileItWaitsAndEndsAfterItsDuration() throws Exception {
        FakeGateway.script("wait1:", c -> Reply.ok("said"));
        Api.publish(
                "waits",
                "pause",
                """
                defaults: {model: fast}
                steps:
                  - {id: before, agent: {prompt: "wait1: before"}}
                  - {id: pause, needs: [before], wait: {duration: 3s}}
                  - {id: after, needs: [pause], agent: {prompt: "wait1: after"}}
                """);
        String id = Api.start("waits/pause", "{}");

        await().atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> row(id) != null && row(id)[2] != null);
        Object[] waiting = row(id);
        assertEquals("sleeping", waiting[0], "handed back, out of the claim queue until due");
        assertNull(waiting[1], "no executor holds the step while it waits");
        assertEquals(
                "running",
                Api.run(id).getString("status"),
                "the run waits; nothing after the timer has started");

        JsonPath run = Api.ended(id);
        assertEquals("succeeded", run.getString("status"), run.prettify());
        Map<String, Object> pause = Api.step(run, "pause", null);
        Instant started = Instant.parse((String) pause.get("startedAt"));
        Instant finished = Instant.parse((String) pause.get("finishedAt"));
        Instant until =
                Instant.parse(run.getString("steps.find { it.id == 'pause' }.output.waitedUntil"));
        assertEquals(started.plusSeconds(3), until, "three seconds from the step's first start");
        assertTrue(!finished.isBefore(until), "ended no earlier than its time: " + finished);
        assertTrue(
                Duration.between(until, finished).compareTo(Duration.ofSeconds(2)) < 0,
                "ended within the poll interval of its time (with room for a shared machine): "
                        + Duration.between(until, finished));
        Instant afterStarted =
                Instant.parse((String) Api.step(run, "after", null).get("startedAt"));
        assertTrue(!afterStarted.isBefore(finished), "the next step ran after the timer");
        assertEquals(0L, ((Number) pause.get("tokens")).longValue());
    }

    @Test
    void cancellingARunCancelsItsSleepingTimer() throws Exception {
        Api.publish(
                "waits",
                "long",
                """
                defaults: {model: fast}
                steps:
                  - {id: pause, wait: {duration: 1h}}
                """);
        String id = Api.start("waits/long", "{}");
        await().atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(50))
                .until(() -> row(id) != null && "sleeping".equals(row(id)[0]));

        Api.given().post("/api/v1/runs/" + id + "/cancel").then().statusCode(202);

        JsonPath run = Api.ended(id);
        assertEquals("cancelled", run.getString("status"), run.prettify());
        assertEquals("cancelled", row(id)[0], "the timer is cancelled, not left to ring");
    }

    /** A run, to its end, of a one-step workflow that waits until its input's {@code at}. */
    private static JsonPath waitUntil(String at) {
        Api.publish(
                "waits",
                "until",
                """
                defaults: {model: fast}
                steps:
                  - {id: pause, wait: {until: "{{input.at}}"}}
                """);
        return Api.ended(Api.start("waits/until", "{\"at\":\"" + at + "\"}"));
    }

    @Test
    void untilIsRenderedFromTheInputAndATimePastDoesNotWait() {
        JsonPath run = waitUntil("2020-01-01T00:00:00Z");
        assertEquals("succeeded", run.getString("status"), run.prettify());
        assertEquals("2020-01-01T00:00:00Z", run.getString("output.waitedUntil"));
    }

    @Test
    void anUntilThatIsNotATimeFailsTheRunSayingWhatToGive() {
        JsonPath run = waitUntil("next tuesday");
        assertEquals("failed", run.getString("status"), run.prettify());
        assertTrue(
                run.getString("reason")
                        .contains("steps.pause.wait.until: 'next tuesday' is not an RFC 3339 time"),
                run.getString("reason"));
    }

    @Test
    void aWaitStepNeedsExactlyOneOfDurationOrUntilAndCannotLoop() {
        Api.given()
                .contentType("application/yaml")
                .body(
                        """
                steps:
                  - {id: both, wait: {duration: 1s, until: "2030-01-01T00:00:00Z"}}
                  - {id: looping, wait: {duration: 1s}, loop: {until: "true", maxIterations: 2}}
                  - {id: long, wait: {duration: 9999h}}
                """
                                .getBytes())
                .put("/api/v1/workflows/waits/invalid")
                .then()
                .statusCode(400)
                .body("errors.field", hasItem("steps.both.wait"))
                .body("errors.message", hasItem(containsString("exactly one of duration or until")))
                .body("errors.field", hasItem("steps.looping.loop"))
                .body("errors.field", hasItem("steps.long.wait.duration"));
    }
}
