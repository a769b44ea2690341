package io.flotilla.executor;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * Steps that would once run forever now end: an answer Postgres cannot store fails the attempt
 * (retried per the policy, then the run), and a step that keeps losing its executor fails the run.
 * Each test counts the upstream calls.
 */
@QuarkusTest
@QuarkusTestResource(ExecutorTestResource.class)
class FailuresThatEndTest {

    @Inject DataSource db;

    @Test
    void anAnswerWithNulCharactersFailsTheAttemptAndRetriesPerThePolicy() {
        FakeGateway.script("nul1:", c -> Reply.ok("half \u0000 an answer"));
        Api.publish(
                "failing",
                "nul",
                """
                defaults: {model: fast}
                steps:
                  - {id: only, retries: {max: 2}, agent: {prompt: "nul1: go"}}
                """);
        JsonPath run = Api.ended(Api.start("failing/nul", "{}"));

        assertEquals("failed", run.getString("status"), run.prettify());
        assertTrue(
                run.getString("reason").contains("NUL characters (U+0000)"),
                run.getString("reason"));
        assertEquals(3, FakeGateway.calls("nul1:").size(), "one call and two retries, no more");
        Map<String, Object> step = Api.step(run, "only", null);
        assertEquals(3, step.get("attempts"));
        assertEquals(
                3L * (FakeGateway.PROMPT_TOKENS + FakeGateway.COMPLETION_TOKENS),
                run.getLong("tokens"),
                "the refused answers were paid for and are counted");
    }

    @Test
    void aStepThatKeepsLosingItsExecutorFailsTheRun() throws Exception {
        FakeGateway.script("lost1:", c -> Reply.ok("late").after(3_000));
        Api.publish(
                "failing",
                "lost",
                """
                defaults: {model: fast}
                steps:
                  - {id: only, agent: {prompt: "lost1: go"}}
                """);
        String id = Api.start("failing/lost", "{}");
        await().atMost(Duration.ofSeconds(10)).until(() -> FakeGateway.calls("lost1:").size() == 1);
        // as if its executor had died for the third time: the lease expired and is not renewed (the
        // epoch moved on), and it was reclaimed three times before
        try (Connection c = db.getConnection();
                PreparedStatement ps =
                        c.prepareStatement(
                                "UPDATE executor.steps SET epoch = epoch + 1, lease_owner = 'dead-pod',"
                                        + " lease_expires_at = now() - interval '1 second', reclaims = 3"
                                        + " WHERE run_id = ? AND step_id = 'only'")) {
            ps.setObject(1, UUID.fromString(id));
            assertEquals(1, ps.executeUpdate());
        }
        JsonPath run = Api.ended(id);

        assertEquals("failed", run.getString("status"), run.prettify());
        assertTrue(
                run.getString("reason").contains("step only lost its executor 4 times"),
                run.getString("reason"));
        assertEquals(1, FakeGateway.calls("lost1:").size(), "the failing step is not called again");
    }
}
