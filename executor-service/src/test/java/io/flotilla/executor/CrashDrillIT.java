package io.flotilla.executor;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.executor.fake.FakeGateway;
import io.flotilla.executor.fake.FakeGateway.Call;
import io.flotilla.executor.fake.FakeGateway.Reply;
import io.flotilla.executor.fake.FakeTool;
import io.flotilla.testsupport.HttpCalls;
import io.flotilla.testsupport.ServiceProcess;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * End to end with real processes: a registry, a gateway (whose upstream is an in-test fake that
 * speaks OpenAI's wire format and counts calls), and two executors on one database. The budget test
 * runs through the real gateway's reservations; the crash drill kills one executor with SIGKILL in
 * the middle of runs.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CrashDrillIT {

    private static final String GATEWAY_ADMIN = Stack.GATEWAY_ADMIN;
    private static final String EXECUTOR_ADMIN = Stack.EXECUTOR_ADMIN;
    private static final String REGISTRY_ADMIN = Stack.REGISTRY_ADMIN;
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static Stack stack;
    private static FakeGateway upstream;
    private static FakeTool tools;
    private static ServiceProcess registry;
    private static ServiceProcess gateway;
    private static ServiceProcess executorA;
    private static ServiceProcess executorB;

    /** The executor API the helpers call: executor B, until it is stopped. */
    private static String api;

    @BeforeAll
    static void startTheStack() throws Exception {
        upstream = new FakeGateway();
        int upstreamPort = upstream.start();
        tools = new FakeTool();
        tools.start();
        stack =
                new Stack(
                        "drill",
                        "providers:\n  fake: {type: openai, baseUrl: http://127.0.0.1:"
                                + upstreamPort
                                + "/v1}\n"
                                + "routes:\n  drill: {targets: [{provider: fake, model: drill-model, prices: {input: 1.0, output: 2.0}}]}\n",
                        Map.of(),
                        Map.of());
        registry = stack.registry;
        gateway = stack.gateway;
        Map<String, String> env =
                Map.of(
                        "FLOTILLA_EXECUTOR_REGISTRY_TTL_SECONDS", "3",
                        "FLOTILLA_EXECUTOR_LEASE", "3s",
                        "FLOTILLA_EXECUTOR_POLL", "250ms",
                        "FLOTILLA_EXECUTOR_CONCURRENCY", "4");
        executorA = stack.executor("executor-a", env);
        executorB = stack.executor("executor-b", env);
        api = executorB.url();
    }

    @AfterAll
    static void stop() throws Exception {
        if (stack != null) {
            stack.close();
        }
        if (upstream != null) {
            upstream.stop();
        }
        if (tools != null) {
            tools.stop();
        }
    }

    @Test
    @Order(1)
    void aRunStopsWhenItsBudgetInTheGatewayIsSpentAndKeepsItsFinishedSteps() throws Exception {
        FakeGateway.script("tight:", c -> Reply.ok("paragraph"));
        publish(
                "drill",
                "tight",
                """
                defaults: {model: drill}
                steps:
                  - {id: s1, agent: {prompt: "tight: s1"}}
                  - {id: s2, needs: [s1], agent: {prompt: "tight: s2"}}
                  - {id: s3, needs: [s2], agent: {prompt: "tight: s3"}}
                  - {id: s4, needs: [s3], agent: {prompt: "tight: s4"}}
                  - {id: s5, needs: [s4], agent: {prompt: "tight: s5"}}
                """);
        String id =
                HttpCalls.call(
                                "POST",
                                executorB.url() + "/api/v1/runs",
                                EXECUTOR_ADMIN,
                                "{\"workflow\":\"drill/tight\",\"input\":{},\"budget\":{\"maxTokens\":120}}")
                        .expect(202)
                        .json()
                        .get("id")
                        .asText();
        JsonNode run = awaitEnd(id);

        assertEquals("failed", run.get("status").asText(), run.toPrettyString());
        assertTrue(
                run.get("reason").asText().startsWith("budget exhausted at step s"),
                run.get("reason").asText());
        assertTrue(
                run.get("reason").asText().contains("run:" + id),
                "the reason names the spent scope: " + run.get("reason").asText());
        long kept = 0;
        for (JsonNode step : run.get("steps")) {
            if (step.get("status").asText().equals("succeeded")) {
                kept++;
                assertEquals(
                        "paragraph",
                        step.get("output").asText(),
                        "finished steps keep their output");
            }
        }
        assertTrue(kept >= 1 && kept < 5, "some steps finished before the budget ran out: " + kept);
        JsonNode scope =
                HttpCalls.call(
                                "GET",
                                gateway.url() + "/admin/v1/scopes/run:" + id,
                                GATEWAY_ADMIN,
                                null)
                        .expect(200)
                        .json();
        assertTrue(
                scope.get("usedTokens").asLong() <= 120,
                "the gateway never let the run spend past its budget: " + scope);
        assertEquals(
                scope.get("usedTokens").asLong(),
                run.get("tokens").asLong(),
                "the run's tokens are what the gateway settled");
        assertEquals(
                kept,
                FakeGateway.calls("tight:").size(),
                "a refused call never reached the provider");
        System.out.printf(
                "budget drill: budget 120 tokens, %d steps finished, %d tokens used, run failed: %s%n",
                kept, scope.get("usedTokens").asLong(), run.get("reason").asText());
    }

    @Test
    @Order(2)
    void killingAnExecutorMidRunLosesNoRunAndRunsNoFinishedStepTwice() throws Exception {
        FakeGateway.script("drill:", c -> Reply.ok("done").after(400));
        publish(
                "drill",
                "chain",
                """
                defaults: {model: drill}
                steps:
                  - {id: s1, agent: {prompt: "drill: {{input.n}} s1"}}
                  - {id: s2, needs: [s1], agent: {prompt: "drill: {{input.n}} s2"}}
                  - {id: s3, needs: [s2], agent: {prompt: "drill: {{input.n}} s3"}}
                """);
        Set<String> executors = activeExecutors();
        assertEquals(2, executors.size(), "both executors registered");
        int runs = 24;
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < runs; i++) {
            ids.add(
                    HttpCalls.call(
                                    "POST",
                                    executorB.url() + "/api/v1/runs",
                                    EXECUTOR_ADMIN,
                                    "{\"workflow\":\"drill/chain\",\"input\":{\"n\":" + i + "}}")
                            .expect(202)
                            .json()
                            .get("id")
                            .asText());
        }
        String ownerA = ownerOf(executorA);
        await().atMost(Duration.ofSeconds(60))
                .until(
                        () ->
                                count("s.status = 'succeeded'") >= 10
                                        && count(
                                                        "s.status = 'running' AND s.lease_owner = '"
                                                                + ownerA
                                                                + "'")
                                                > 0);
        Set<String> finishedBeforeKill = steps("s.status = 'succeeded'");
        Set<String> heldByTheDead =
                steps("s.status = 'running' AND s.lease_owner = '" + ownerA + "'");
        long killedAt = System.nanoTime();
        Instant killedAtWall = Instant.now();
        executorA.kill();

        await().atMost(Duration.ofSeconds(90))
                .until(
                        () ->
                                count("true") == 3L * runs
                                        && count("s.status = 'succeeded'") == 3L * runs);
        for (String id : ids) {
            assertEquals(
                    "succeeded",
                    HttpCalls.call(
                                    "GET",
                                    executorB.url() + "/api/v1/runs/" + id,
                                    EXECUTOR_ADMIN,
                                    null)
                            .expect(200)
                            .json()
                            .get("status")
                            .asText());
        }
        Map<String, Integer> calls =
                FakeGateway.calls("drill:").stream()
                        .collect(
                                Collectors.groupingBy(
                                        CrashDrillIT::stepOf, Collectors.summingInt(c -> 1)));
        for (String step : finishedBeforeKill) {
            assertEquals(
                    1,
                    calls.get(step),
                    "step " + step + " finished before the kill and was called once");
        }
        // A reclaimed step calls the gateway again with its dead attempt's Idempotency-Key: the
        // gateway answers from the first call (or waits for it), so the provider is called
        // exactly once per step, kills or not.
        Map<String, Integer> attempts = attempts();
        Map<String, Integer> reclaims = reclaims();
        assertEquals(attempts.keySet(), calls.keySet(), "every step called the provider");
        for (Map.Entry<String, Integer> step : calls.entrySet()) {
            assertEquals(
                    1,
                    step.getValue(),
                    "step "
                            + step.getKey()
                            + " was paid "
                            + step.getValue()
                            + " times over "
                            + attempts.get(step.getKey())
                            + " attempts, "
                            + reclaims.getOrDefault(step.getKey(), 0)
                            + " of them reclaimed");
        }
        List<Long> reclaimMillis = new ArrayList<>();
        for (String step : heldByTheDead) {
            assertTrue(
                    attempts.get(step) >= 2 && reclaims.getOrDefault(step, 0) >= 1,
                    "step " + step + " was reclaimed from the dead executor");
            reclaimMillis.add(reclaimedAfterKill(step, killedAtWall));
        }
        assertFalse(heldByTheDead.isEmpty());
        reclaimMillis.sort(null);
        int steps = calls.size();
        int paid = calls.values().stream().mapToInt(Integer::intValue).sum();
        System.out.printf(
                "crash drill: %d runs, %d steps finished before kill -9, %d in flight on the killed executor;"
                        + " all runs succeeded; provider calls %d for %d steps; kill-to-reclaim (lease 3 s) min"
                        + " %d ms, max %d ms%n",
                runs,
                finishedBeforeKill.size(),
                heldByTheDead.size(),
                paid,
                steps,
                reclaimMillis.get(0),
                reclaimMillis.get(reclaimMillis.size() - 1));
    }

    @Test
    @Order(3)
    void aGracefulShutdownHandsBackTheStepsStillInFlight() throws Exception {
        FakeGateway.script("linger:", c -> Reply.ok("late").after(20_000));
        publish(
                "drill",
                "lingering",
                "defaults: {model: drill}\nsteps:\n  - {id: only, agent: {prompt: \"linger: {{input.n}}\"}}\n");
        for (int i = 0; i < 2; i++) {
            HttpCalls.call(
                            "POST",
                            executorB.url() + "/api/v1/runs",
                            EXECUTOR_ADMIN,
                            "{\"workflow\":\"drill/lingering\",\"input\":{\"n\":" + i + "}}")
                    .expect(202);
        }
        await().atMost(Duration.ofSeconds(30))
                .until(() -> FakeGateway.calls("linger:").size() == 2);

        executorB.close(); // SIGTERM: in-flight steps get 10 s, then go back to the queue
        assertEquals(
                2,
                lingering("s.status = 'ready' AND s.lease_owner IS NULL AND s.attempt = 1"),
                "handed back, not left to expire");
        assertEquals(
                0,
                lingering(
                        "EXISTS (SELECT 1 FROM executor.events e WHERE e.run_id = s.run_id AND e.type = 'step.reclaimed')"),
                "no lease had to expire");
        await().atMost(Duration.ofSeconds(30)).until(() -> activeExecutors().isEmpty());
    }

    @Test
    @Order(4)
    void aTimerSurvivesTheKillOfTheExecutorThatStartedIt() throws Exception {
        ServiceProcess first = drillExecutor("executor-timer-1");
        api = first.url();
        FakeGateway.script("timer:", c -> Reply.ok("rang"));
        publish(
                "drill",
                "timer",
                """
                defaults: {model: drill}
                steps:
                  - {id: pause, wait: {duration: 5s}}
                  - {id: after, needs: [pause], agent: {prompt: "timer: after the pause"}}
                """);
        String id = startRun("drill/timer");
        await().atMost(Duration.ofSeconds(30))
                .until(() -> rowsOf(id, "status = 'sleeping' AND lease_owner IS NULL") == 1);

        first.kill(); // SIGKILL while the timer runs: nothing of it lived in that process
        ServiceProcess second = drillExecutor("executor-timer-2");
        api = second.url();
        JsonNode run = awaitEnd(id);

        assertEquals("succeeded", run.get("status").asText(), run.toString());
        JsonNode pause = run.get("steps").get(0);
        assertEquals("pause", pause.get("id").asText());
        Instant until = Instant.parse(pause.get("output").get("waitedUntil").asText());
        assertEquals(
                Instant.parse(pause.get("startedAt").asText()).plusSeconds(5),
                until,
                "five seconds from the step's first start, on the killed executor");
        assertTrue(
                !Instant.parse(pause.get("finishedAt").asText()).isBefore(until),
                "not ended before its time");
        assertEquals(1, FakeGateway.calls("timer:").size(), "the step after it ran once");
        assertEquals(0, rowsOf(id, "step_id = 'pause' AND status <> 'succeeded'"));
        second.close();
    }

    @Test
    @Order(5)
    void aDecisionSurvivesTheKillOfTheExecutorThatTookIt() throws Exception {
        ServiceProcess first = drillExecutor("executor-approval-1");
        api = first.url();
        FakeGateway.script("approved:", c -> Reply.ok("published"));
        publish(
                "drill",
                "approval",
                """
                defaults: {model: drill}
                steps:
                  - {id: approve, approval: {}}
                  - {id: publish, needs: [approve], agent: {prompt: "approved: {{steps.approve.output.by}}"}}
                """);
        String id = startRun("drill/approval");
        await().atMost(Duration.ofSeconds(30))
                .until(
                        () ->
                                rowsOf(id, "status = 'awaiting_approval' AND lease_owner IS NULL")
                                        == 1);

        HttpCalls.call(
                        "POST",
                        api + "/api/v1/runs/" + id + "/steps/approve/approve",
                        EXECUTOR_ADMIN,
                        "{\"by\":\"alice\"}")
                .expect(202);
        first.kill(); // SIGKILL right after the decision: whatever it had begun is taken over
        ServiceProcess second = drillExecutor("executor-approval-2");
        api = second.url();
        JsonNode run = awaitEnd(id);

        assertEquals("succeeded", run.get("status").asText(), run.toString());
        assertEquals("alice", run.get("steps").get(0).get("output").get("by").asText());
        List<Call> calls = FakeGateway.calls("approved:");
        assertEquals(1, calls.size(), "the step after the decision ran once");
        assertTrue(calls.get(0).prompt().contains("approved: alice"), calls.get(0).prompt());
        second.close();
    }

    /** An executor for one drill: a 3 s lease and registration, a quick poll. */
    private static ServiceProcess drillExecutor(String name) throws Exception {
        return stack.executor(
                name,
                Map.of(
                        "FLOTILLA_EXECUTOR_REGISTRY_TTL_SECONDS", "3",
                        "FLOTILLA_EXECUTOR_LEASE", "3s",
                        "FLOTILLA_EXECUTOR_POLL", "250ms",
                        "FLOTILLA_EXECUTOR_TOOLS_ALLOWED_HOSTS", "127.0.0.1",
                        "FLOTILLA_EXECUTOR_TOOLS_ALLOWED_ADDRESSES", "127.0.0.1/32"));
    }

    /** A first executor for a drill, the one the helpers call: {@code <name>-1}. */
    private static ServiceProcess first(String name) throws Exception {
        ServiceProcess first = drillExecutor(name + "-1");
        api = first.url();
        return first;
    }

    /**
     * Starts a run of {@code workflow} on the {@code first} executor, kills it with SIGKILL once
     * {@code midway} holds, and lets a second executor take over; the run as it ended.
     */
    private static JsonNode killMidway(
            ServiceProcess first, String name, String workflow, Callable<Boolean> midway)
            throws Exception {
        String id = startRun(workflow);
        await().atMost(Duration.ofSeconds(30)).until(midway);
        first.kill();
        ServiceProcess second = drillExecutor(name + "-2");
        api = second.url();
        try {
            return awaitEnd(id);
        } finally {
            second.close();
        }
    }

    /** A tool that answers {@code body}, the first time only after {@code slowMillis}. */
    private static void slowOnce(String segment, String body, long slowMillis) {
        AtomicInteger calls = new AtomicInteger();
        FakeTool.script(
                segment,
                r ->
                        calls.incrementAndGet() == 1
                                ? FakeTool.Reply.json(body).after(slowMillis)
                                : FakeTool.Reply.json(body));
    }

    @Test
    @Order(6)
    void aToolCallCutShortByAKillIsMadeAgainWithTheSameKey() throws Exception {
        ServiceProcess first = first("executor-tool");
        slowOnce("slowtool", "{\"v\": 7}", 20_000);
        FakeGateway.script("aftertool:", c -> Reply.ok("used"));
        publish(
                "drill",
                "toolkill",
                """
                defaults: {model: drill}
                tools:
                  - {name: fetch, http: {url: "URL/slowtool/1"}}
                steps:
                  - {id: fetch, tool: {name: fetch}}
                  - {id: use, needs: [fetch], agent: {prompt: "aftertool: {{steps.fetch.output.v}}"}}
                """
                        .replace("URL", FakeTool.url()));
        JsonNode run =
                killMidway(
                        first,
                        "executor-tool",
                        "drill/toolkill",
                        () -> FakeTool.requests("slowtool").size() == 1);

        assertEquals("succeeded", run.get("status").asText(), run.toString());
        List<FakeTool.Request> sent = FakeTool.requests("slowtool");
        assertEquals(2, sent.size(), "the call cut short is made once more");
        assertEquals(
                sent.get(0).header("Idempotency-Key"),
                sent.get(1).header("Idempotency-Key"),
                "with the same Idempotency-Key, so the service can tell it is the same call");
        assertEquals(1, FakeGateway.calls("aftertool:").size());
    }

    @Test
    @Order(7)
    void aToolCallingLoopResumesAfterItsLastCheckpoint() throws Exception {
        ServiceProcess first = first("executor-loop");
        FakeTool.script("fast", r -> FakeTool.Reply.json("{\"a\": 1}"));
        slowOnce("slow", "{\"b\": 2}", 20_000);
        FakeGateway.script(
                "loop:",
                c -> {
                    long results =
                            c.body().getJsonArray("messages").stream()
                                    .filter(
                                            m ->
                                                    "tool"
                                                            .equals(
                                                                    ((io.vertx.core.json.JsonObject)
                                                                                    m)
                                                                            .getString("role")))
                                    .count();
                    return results == 0
                            ? Reply.toolCall("call_a", "fast", "{}")
                            : results == 1
                                    ? Reply.toolCall("call_b", "slow", "{}")
                                    : Reply.ok("a and b");
                });
        publish(
                "drill",
                "loopkill",
                """
                defaults: {model: drill}
                tools:
                  - {name: fast, http: {url: "URL/fast/1"}}
                  - {name: slow, http: {url: "URL/slow/1"}}
                steps:
                  - {id: ask, agent: {prompt: "loop: read a then b", tools: [fast, slow]}}
                """
                        .replace("URL", FakeTool.url()));
        JsonNode run =
                killMidway(
                        first,
                        "executor-loop",
                        "drill/loopkill",
                        () -> FakeTool.requests("slow").size() == 1);

        assertEquals("succeeded", run.get("status").asText(), run.toString());
        assertEquals("a and b", run.get("steps").get(0).get("output").asText());
        assertEquals(1, FakeTool.requests("fast").size(), "the finished tool call is not repeated");
        assertEquals(2, FakeTool.requests("slow").size(), "the one cut short is made again");
        assertEquals(
                FakeTool.requests("slow").get(0).header("Idempotency-Key"),
                FakeTool.requests("slow").get(1).header("Idempotency-Key"));
        assertEquals(
                3,
                FakeGateway.calls("loop:").size(),
                "three model turns, none repeated: the provider saw each once");
        System.out.printf(
                "tool-loop drill: kill -9 during the second tool call; after the takeover: fast"
                        + " tool called 1 time, slow tool 2 times (same key), model turns %d%n",
                FakeGateway.calls("loop:").size());
    }

    @Test
    @Order(8)
    void aChildRunSurvivesTheKillOfTheExecutorThatStartedIt() throws Exception {
        ServiceProcess first = first("executor-child");
        FakeGateway.script("childslow:", c -> Reply.ok("child done").after(3_000));
        publish(
                "drill",
                "child",
                """
                defaults: {model: drill}
                steps:
                  - {id: work, agent: {prompt: "childslow: work"}}
                """);
        publish(
                "drill",
                "parent",
                """
                steps:
                  - {id: sub, workflow: {name: child}}
                """);
        JsonNode run =
                killMidway(
                        first,
                        "executor-child",
                        "drill/parent",
                        () -> FakeGateway.calls("childslow:").size() == 1);

        assertEquals("succeeded", run.get("status").asText(), run.toString());
        assertEquals("child done", run.get("steps").get(0).get("output").asText());
        assertEquals(1, run.get("children").size(), "one child run, not a second one");
        assertEquals(
                1,
                FakeGateway.calls("childslow:").size(),
                "the child's step was taken over with its key: the provider was paid once");
    }

    /** Starts a run of {@code workflow} with an empty input through {@link #api}; its id. */
    private static String startRun(String workflow) throws Exception {
        return HttpCalls.call(
                        "POST",
                        api + "/api/v1/runs",
                        EXECUTOR_ADMIN,
                        "{\"workflow\":\"" + workflow + "\",\"input\":{}}")
                .expect(202)
                .json()
                .get("id")
                .asText();
    }

    /** Step rows of a run matching {@code where}. */
    private static long rowsOf(String runId, String where) throws Exception {
        try (Connection c = db();
                PreparedStatement ps =
                        c.prepareStatement(
                                "SELECT count(*) FROM executor.steps WHERE run_id = ?::uuid AND "
                                        + where)) {
            ps.setString(1, runId);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private static long lingering(String where) throws Exception {
        try (Connection c = db();
                ResultSet rs =
                        c.createStatement()
                                .executeQuery(
                                        "SELECT count(*) FROM executor.steps s "
                                                + "JOIN executor.runs r ON r.id = s.run_id WHERE r.workflow = 'lingering' AND "
                                                + where)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static String stepOf(Call c) {
        String[] words =
                c.prompt().substring(c.prompt().indexOf("drill:") + 6).trim().split("\\s+");
        return words[0] + "/" + words[1];
    }

    private static String ownerOf(ServiceProcess executor) throws Exception {
        // the executor's registration: same pod name (the host), its process id in the name
        for (JsonNode a :
                HttpCalls.call(
                                "GET",
                                registry.url() + "/api/v1/agents?kind=executor&status=active",
                                REGISTRY_ADMIN,
                                null)
                        .expect(200)
                        .json()) {
            if (a.get("name").asText().endsWith("-" + executor.pid())) {
                return a.get("id").asText();
            }
        }
        throw new AssertionError("executor " + executor.pid() + " is not registered");
    }

    private static Set<String> activeExecutors() throws Exception {
        Set<String> ids = new HashSet<>();
        HttpCalls.call(
                        "GET",
                        registry.url() + "/api/v1/agents?kind=executor&status=active",
                        REGISTRY_ADMIN,
                        null)
                .expect(200)
                .json()
                .forEach(a -> ids.add(a.get("id").asText()));
        return ids;
    }

    private static Connection db() throws Exception {
        return stack.db();
    }

    private static long count(String where) throws Exception {
        try (Connection c = db();
                ResultSet rs =
                        c.createStatement()
                                .executeQuery(
                                        "SELECT count(*) FROM executor.steps s "
                                                + "JOIN executor.runs r ON r.id = s.run_id WHERE r.workflow = 'chain' AND "
                                                + where)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static Set<String> steps(String where) throws Exception {
        Set<String> steps = new HashSet<>();
        try (Connection c = db();
                ResultSet rs =
                        c.createStatement()
                                .executeQuery(
                                        "SELECT r.input->>'n', s.step_id FROM executor.steps s "
                                                + "JOIN executor.runs r ON r.id = s.run_id WHERE r.workflow = 'chain' AND "
                                                + where)) {
            while (rs.next()) {
                steps.add(rs.getString(1) + "/" + rs.getString(2));
            }
        }
        return steps;
    }

    private static Map<String, Integer> attempts() throws Exception {
        Map<String, Integer> attempts = new HashMap<>();
        try (Connection c = db();
                ResultSet rs =
                        c.createStatement()
                                .executeQuery(
                                        "SELECT r.input->>'n', s.step_id, s.attempt FROM executor.steps s "
                                                + "JOIN executor.runs r ON r.id = s.run_id WHERE r.workflow = 'chain'")) {
            while (rs.next()) {
                attempts.put(rs.getString(1) + "/" + rs.getString(2), rs.getInt(3));
            }
        }
        return attempts;
    }

    /** Milliseconds from the kill to the reclaim of a step (its step.reclaimed event). */
    private static long reclaimedAfterKill(String step, Instant killed) throws Exception {
        String[] nStep = step.split("/");
        try (Connection c = db();
                PreparedStatement ps =
                        c.prepareStatement(
                                "SELECT max(e.at) FROM executor.events e JOIN executor.runs r ON r.id = e.run_id"
                                        + " WHERE r.workflow = 'chain' AND e.type = 'step.reclaimed'"
                                        + " AND r.input->>'n' = ? AND e.step_id = ?")) {
            ps.setString(1, nStep[0]);
            ps.setString(2, nStep[1]);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return Duration.between(killed, rs.getTimestamp(1).toInstant()).toMillis();
            }
        }
    }

    private static Map<String, Integer> reclaims() throws Exception {
        Map<String, Integer> reclaims = new HashMap<>();
        try (Connection c = db();
                ResultSet rs =
                        c.createStatement()
                                .executeQuery(
                                        "SELECT r.input->>'n', e.step_id, count(*) FROM executor.events e "
                                                + "JOIN executor.runs r ON r.id = e.run_id WHERE r.workflow = 'chain' AND e.type = 'step.reclaimed' GROUP BY 1, 2")) {
            while (rs.next()) {
                reclaims.put(rs.getString(1) + "/" + rs.getString(2), rs.getInt(3));
            }
        }
        return reclaims;
    }

    private static void publish(String namespace, String name, String yaml) throws Exception {
        HttpResponse<String> r =
                HTTP.send(
                        HttpRequest.newBuilder(
                                        URI.create(
                                                api
                                                        + "/api/v1/workflows/"
                                                        + namespace
                                                        + "/"
                                                        + name))
                                .header("Content-Type", "application/yaml")
                                .header("Authorization", "Bearer " + EXECUTOR_ADMIN)
                                .PUT(HttpRequest.BodyPublishers.ofString(yaml))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertTrue(r.statusCode() == 201 || r.statusCode() == 200, r.body());
    }

    private static JsonNode awaitEnd(String id) throws Exception {
        await().atMost(Duration.ofSeconds(60))
                .until(
                        () ->
                                !HttpCalls.call(
                                                "GET",
                                                api + "/api/v1/runs/" + id,
                                                EXECUTOR_ADMIN,
                                                null)
                                        .expect(200)
                                        .json()
                                        .get("status")
                                        .asText()
                                        .equals("running"));
        return HttpCalls.call("GET", api + "/api/v1/runs/" + id, EXECUTOR_ADMIN, null)
                .expect(200)
                .json();
    }
}
