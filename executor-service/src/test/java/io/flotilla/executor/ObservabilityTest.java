package io.flotilla.executor;

import static io.flotilla.executor.Api.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.executor.fake.ExecutorTestResource;
import io.flotilla.executor.fake.FakeGateway;
import io.flotilla.executor.fake.FakeGateway.Call;
import io.flotilla.executor.fake.FakeGateway.Reply;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * Traces carried from the run into every gateway call, Prometheus metrics, and no prompt text in
 * logs.
 */
@QuarkusTest
@QuarkusTestResource(ExecutorTestResource.class)
class ObservabilityTest {

    @Inject DataSource db;

    @Test
    void everyGatewayCallCarriesTheTraceOfItsRun() throws Exception {
        FakeGateway.script("traced1:", c -> Reply.ok("fine"));
        Api.publish(
                "obs",
                "traced",
                """
                defaults: {model: fast}
                steps:
                  - {id: a, agent: {prompt: "traced1: a"}}
                  - {id: b, needs: [a], agent: {prompt: "traced1: b"}}
                """);
        String id = Api.start("obs/traced", "{}");
        Api.ended(id);

        String runTrace;
        try (Connection c = db.getConnection();
                PreparedStatement ps =
                        c.prepareStatement("SELECT trace_parent FROM executor.runs WHERE id = ?")) {
            ps.setObject(1, UUID.fromString(id));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                runTrace = rs.getString(1);
            }
        }
        assertNotNull(runTrace, "the run span's context is stored with the run");
        String traceId = runTrace.split("-")[1];
        List<Call> calls = FakeGateway.calls("traced1:");
        assertEquals(2, calls.size());
        for (Call call : calls) {
            assertNotNull(call.traceparent(), "the gateway call carries W3C trace context");
            assertEquals(
                    traceId,
                    call.traceparent().split("-")[1],
                    "each step's call is in the run's trace");
            assertNotEquals(
                    runTrace.split("-")[2],
                    call.traceparent().split("-")[2],
                    "under a step span, not the run span itself");
        }
    }

    @Test
    void metricsCountRunsStepsReclaimsAndTheReadyQueue() {
        FakeGateway.script("metric1:", c -> Reply.ok("fine"));
        Api.publish(
                "obs",
                "counted",
                """
                defaults: {model: fast}
                steps:
                  - {id: a, agent: {prompt: "metric1: a"}}
                """);
        Api.ended(Api.start("obs/counted", "{}"));
        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertTrue(
                metrics.contains("flotilla_executor_runs_total{status=\"succeeded\"}"),
                "runs by status");
        assertTrue(metrics.contains("flotilla_executor_runs_total{status=\"started\"}"));
        assertTrue(
                metrics.contains(
                        "flotilla_executor_step_duration_seconds_count{outcome=\"succeeded\"}"),
                "step latency");
        assertTrue(
                metrics.contains("flotilla_executor_step_duration_seconds_bucket"),
                "as a histogram");
        assertTrue(metrics.contains("flotilla_executor_ready_depth "), "ready-queue depth");
        assertTrue(metrics.contains("flotilla_executor_lease_reclaims_total "), "lease reclaims");
    }

    @Test
    void promptsAndAnswersNeverReachTheLogs() {
        List<String> lines = new CopyOnWriteArrayList<>();
        Handler capture =
                new Handler() {
                    @Override
                    public void publish(LogRecord r) {
                        lines.add(
                                String.valueOf(r.getMessage())
                                        + " "
                                        + java.util.Arrays.toString(r.getParameters())
                                        + " "
                                        + r.getThrown());
                    }

                    @Override
                    public void flush() {}

                    @Override
                    public void close() {}
                };
        Logger root = Logger.getLogger("");
        root.addHandler(capture);
        try {
            FakeGateway.script("secret1:", c -> Reply.ok("ANSWER-7f3a not json"));
            Api.publish(
                    "obs",
                    "secret",
                    """
                    defaults: {model: fast}
                    steps:
                      - {id: a, retries: {max: 1}, agent: {prompt: "secret1: PROMPT-9c2e {{input.code}}", output: {schema: {type: object}}}}
                    """);
            String id = Api.start("obs/secret", "{\"code\": \"INPUT-41d0\"}");
            Api.ended(id);
            org.awaitility.Awaitility.await()
                    .until(() -> lines.stream().anyMatch(l -> l.contains(id)));
        } finally {
            root.removeHandler(capture);
        }
        for (String line : lines) {
            assertFalse(
                    line.contains("PROMPT-9c2e")
                            || line.contains("INPUT-41d0")
                            || line.contains("ANSWER-7f3a"),
                    "leaked: " + line);
        }
    }
}
