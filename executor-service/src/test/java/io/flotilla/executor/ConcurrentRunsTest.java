package io.flotilla.executor;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.executor.fake.ExecutorTestResource;
import io.flotilla.executor.fake.FakeGateway;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.net.URL;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * 500 runs started at once: every one completes, no step runs twice, and Postgres sees no deadlock.
 */
@QuarkusTest
@QuarkusTestResource(ExecutorTestResource.class)
class ConcurrentRunsTest {

    private static final int RUNS = 500;

    @Inject DataSource db;

    @Inject MeterRegistry meters;

    @TestHTTPResource("/")
    URL base;

    private long query(String sql) throws Exception {
        try (Connection c = db.getConnection();
                ResultSet rs = c.createStatement().executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private double steps(String outcome) {
        Timer t = meters.find("flotilla.executor.step.duration").tag("outcome", outcome).timer();
        return t == null ? 0 : t.count();
    }

    @Test
    void fiveHundredConcurrentRunsAllCompleteWithoutLockErrors() throws Exception {
        Api.publish(
                "load",
                "small",
                """
                defaults: {model: fast}
                steps:
                  - {id: draft, agent: {prompt: "load1: draft {{input.n}}"}}
                  - {id: polish, needs: [draft], agent: {prompt: "load1: polish {{steps.draft.output}}"}}
                """);
        double failedBefore = steps("failed");
        double fencedBefore = steps("fenced");
        HttpClient http = HttpClient.newHttpClient();
        List<CompletableFuture<HttpResponse<String>>> posts = new ArrayList<>();
        for (int i = 0; i < RUNS; i++) {
            posts.add(
                    http.sendAsync(
                            HttpRequest.newBuilder(base.toURI().resolve("/api/v1/runs"))
                                    .header("Authorization", "Bearer " + Api.ADMIN)
                                    .header("Content-Type", "application/json")
                                    .POST(
                                            HttpRequest.BodyPublishers.ofString(
                                                    "{\"workflow\":\"load/small\",\"input\":{\"n\":"
                                                            + i
                                                            + "}}"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString()));
        }
        for (var post : posts) {
            assertEquals(202, post.get().statusCode(), post.get().body());
        }

        await().atMost(Duration.ofMinutes(3))
                .pollInterval(Duration.ofMillis(500))
                .until(
                        () ->
                                query(
                                                "SELECT count(*) FROM executor.runs WHERE workflow = 'small' AND status = 'running'")
                                        == 0);

        assertEquals(
                RUNS,
                query(
                        "SELECT count(*) FROM executor.runs WHERE workflow = 'small' AND status = 'succeeded'"));
        assertEquals(
                0,
                query(
                        "SELECT count(*) FROM executor.steps s JOIN executor.runs r ON r.id = s.run_id "
                                + "WHERE r.workflow = 'small' AND (s.attempt <> 1 OR s.status <> 'succeeded')"),
                "every step ran exactly once");
        var calls = FakeGateway.calls("load1:");
        assertEquals(2 * RUNS, calls.size(), "one LLM call per step");
        for (var call : calls) {
            String step = call.prompt().contains("load1: draft") ? "draft" : "polish";
            assertTrue(
                    call.idempotencyKey().endsWith("/" + step + "/i0/f0"),
                    "each call carries its own step's key: " + call.idempotencyKey());
        }
        assertEquals(
                2 * RUNS,
                calls.stream().map(c -> c.idempotencyKey()).distinct().count(),
                "no two calls share a key");
        assertEquals(
                0,
                query("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"),
                "no deadlock in Postgres");
        assertEquals(0, steps("failed") - failedBefore, "no step execution failed");
        assertEquals(0, steps("fenced") - fencedBefore, "no commit was refused");
    }
}
