package io.flotilla.executor;

import static io.flotilla.executor.Api.given;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flotilla.executor.fake.ExecutorTestResource;
import io.flotilla.executor.fake.FakeGateway;
import io.flotilla.executor.fake.FakeGateway.Reply;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.UUID;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * Ended runs older than the retention (30 days) are deleted by the engine with their steps and
 * events; the rest stay.
 */
@QuarkusTest
@QuarkusTestResource(ExecutorTestResource.class)
class RetentionTest {

    @Inject DataSource db;

    private long count(String sql, String id) throws Exception {
        try (Connection c = db.getConnection();
                PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setObject(1, UUID.fromString(id));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    @Test
    void runsThatEndedLongerAgoThanTheRetentionAreDeletedWithTheirStepsAndEvents()
            throws Exception {
        FakeGateway.script("keep1:", c -> Reply.ok("done"));
        FakeGateway.script("keep1-slow:", c -> Reply.ok("late").after(30_000));
        Api.publish(
                "retention",
                "small",
                "defaults: {model: fast}\nsteps: [{id: a, agent: {prompt: \"keep1: {{input.n}}\"}}]\n");
        Api.publish(
                "retention",
                "slow",
                "defaults: {model: fast}\nsteps: [{id: a, agent: {prompt: \"keep1-slow: go\"}}]\n");
        String old = Api.start("retention/small", "{\"n\":1}");
        String recent = Api.start("retention/small", "{\"n\":2}");
        String running = Api.start("retention/slow", "{}");
        Api.ended(old);
        Api.ended(recent);
        try (Connection c = db.getConnection();
                PreparedStatement ps =
                        c.prepareStatement(
                                "UPDATE executor.runs SET finished_at = now() - interval '31 days', created_at = now() - interval '31 days' WHERE id = ?")) {
            ps.setObject(1, UUID.fromString(old));
            assertEquals(1, ps.executeUpdate());
        }
        try (Connection c = db.getConnection();
                PreparedStatement ps =
                        c.prepareStatement(
                                "UPDATE executor.runs SET created_at = now() - interval '40 days' WHERE id = ?")) {
            ps.setObject(1, UUID.fromString(running)); // old, but not ended: never deleted
            assertEquals(1, ps.executeUpdate());
        }

        await().atMost(Duration.ofSeconds(25))
                .until(() -> given().get("/api/v1/runs/" + old).statusCode() == 404);
        assertEquals(
                0,
                count("SELECT count(*) FROM executor.steps WHERE run_id = ?", old),
                "its steps went with it");
        assertEquals(
                0,
                count("SELECT count(*) FROM executor.events WHERE run_id = ?", old),
                "and its events");
        assertEquals("succeeded", Api.run(recent).getString("status"), "a recent run stays");
        assertEquals("running", Api.run(running).getString("status"), "a running run stays");
        given().post("/api/v1/runs/" + running + "/cancel").then().statusCode(202);
    }
}
