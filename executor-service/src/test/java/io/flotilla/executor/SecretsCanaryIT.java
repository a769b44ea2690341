package io.flotilla.executor;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.executor.fake.FakeGateway;
import io.flotilla.executor.fake.FakeGateway.Reply;
import io.flotilla.executor.fake.FakeTool;
import io.flotilla.testsupport.HttpCalls;
import io.flotilla.testsupport.ServiceProcess;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/**
 * A secrets canary: a run whose provider key, tool secret and prompt carry unique markers, through
 * a real registry, gateway and executor that trace to an in-test OTLP receiver; the tool secret is
 * sent by a tool step and by an agent's tool call. Afterwards the secrets (provider key, tool
 * secret, the executor's virtual key, a registration token, the admin tokens) appear in no log
 * line, span, metric or table, nor in any request to a model; the prompt marker only where
 * docs/security.md says prompts are kept: the workflow's revision (its template) and the run's
 * input.
 */
class SecretsCanaryIT {

    private static final String PROMPT = "canary-prompt-" + UUID.randomUUID();
    private static final String PROVIDER_KEY = "sk-canary-" + UUID.randomUUID();
    private static final String TOOL_SECRET = "tool-canary-" + UUID.randomUUID();

    /** Tables (schema.table) where the prompt marker may be: the prompt's own storage. */
    private static final Set<String> PROMPT_STORAGE =
            Set.of("executor.workflow_revisions", "executor.runs");

    @Test
    void noSecretOrPromptLeaksIntoLogsSpansMetricsOrTables() throws Exception {
        Vertx vertx = Vertx.vertx();
        ByteArrayOutputStream spans = new ByteArrayOutputStream();
        HttpServer otlp =
                vertx.createHttpServer()
                        .requestHandler(
                                r ->
                                        r.body()
                                                .onSuccess(
                                                        b -> {
                                                            synchronized (spans) {
                                                                spans.writeBytes(b.getBytes());
                                                            }
                                                            r.response()
                                                                    .putHeader(
                                                                            "Content-Type",
                                                                            "application/x-protobuf")
                                                                    .end();
                                                        }))
                        .listen(0, "127.0.0.1")
                        .toCompletionStage()
                        .toCompletableFuture()
                        .get();
        Map<String, String> tracing =
                Map.of(
                        "QUARKUS_OTEL_SDK_DISABLED", "false",
                        "QUARKUS_OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                                "http://127.0.0.1:" + otlp.actualPort() + "/v1/traces",
                        "QUARKUS_OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf",
                        "QUARKUS_OTEL_BSP_SCHEDULE_DELAY", "100ms");
        FakeGateway upstream = new FakeGateway();
        int port = upstream.start();
        FakeTool tool = new FakeTool();
        tool.start();
        FakeTool.script("canary-tool", r -> FakeTool.Reply.json("{\"stock\": 12}"));
        FakeGateway.script(
                "Look up",
                c ->
                        c.body().getJsonArray("messages").stream()
                                        .anyMatch(
                                                m ->
                                                        "tool"
                                                                .equals(
                                                                        ((io.vertx.core.json
                                                                                                .JsonObject)
                                                                                        m)
                                                                                .getString("role")))
                                ? Reply.ok("12 in stock")
                                : Reply.toolCall("call_1", "stock", "{\"sku\":\"a-1\"}"));
        List<String> secrets = new ArrayList<>();
        try (Stack stack =
                new Stack(
                        "canary",
                        "providers:\n  fake: {type: openai, baseUrl: http://127.0.0.1:"
                                + port
                                + "/v1, apiKeyEnv: CANARY_PROVIDER_KEY}\n"
                                + "routes:\n  fast: {targets: [{provider: fake, model: canary-model}]}\n",
                        Map.of("CANARY_PROVIDER_KEY", PROVIDER_KEY),
                        tracing)) {
            ServiceProcess executor =
                    stack.executor(
                            "canary-executor",
                            Map.of(
                                    "FLOTILLA_TOOL_CANARY_TOKEN", TOOL_SECRET,
                                    "FLOTILLA_EXECUTOR_TOOLS_ALLOWED_HOSTS", "127.0.0.1",
                                    "FLOTILLA_EXECUTOR_TOOLS_ALLOWED_ADDRESSES", "127.0.0.1/32"));
            String token =
                    HttpCalls.call(
                                    "POST",
                                    stack.registry.url() + "/api/v1/agents",
                                    Stack.REGISTRY_ADMIN,
                                    "{\"name\":\"canary\",\"kind\":\"agent\",\"namespace\":\"canary\",\"podName\":\"p\"}")
                            .expect(201)
                            .json()
                            .get("token")
                            .asText();
            HttpCalls.call(
                            "PUT",
                            stack.registry.url()
                                    + "/api/v1/agents/"
                                    + HttpCalls.call(
                                                    "POST",
                                                    stack.registry.url() + "/api/v1/tokens/verify",
                                                    Stack.REGISTRY_ADMIN,
                                                    "{\"token\":\"" + token + "\"}")
                                            .json()
                                            .get("agent")
                                            .get("id")
                                            .asText()
                                    + "/heartbeat",
                            token,
                            null)
                    .expect(200);
            secrets.addAll(
                    List.of(
                            PROVIDER_KEY,
                            stack.key,
                            token,
                            Stack.GATEWAY_ADMIN,
                            Stack.REGISTRY_ADMIN,
                            Stack.EXECUTOR_ADMIN,
                            TOOL_SECRET));

            HttpCalls.call(
                            "PUT",
                            executor.url() + "/api/v1/workflows/canary/brief",
                            Stack.EXECUTOR_ADMIN,
                            "{\"defaults\":{\"model\":\"fast\"},"
                                    + "\"tools\":[{\"name\":\"stock\",\"http\":{\"url\":\""
                                    + FakeTool.url()
                                    + "/canary-tool/{{sku}}\"},\"secrets\":[{\"header\":\"Authorization\","
                                    + "\"prefix\":\"Bearer \",\"env\":\"FLOTILLA_TOOL_CANARY_TOKEN\"}]}],"
                                    + "\"steps\":[{\"id\":\"a\",\"agent\":{\"prompt\":\"Summarise "
                                    + PROMPT
                                    + " {{input.topic}}\"}},"
                                    + "{\"id\":\"count\",\"tool\":{\"name\":\"stock\",\"with\":{\"sku\":\"b-2\"}}},"
                                    + "{\"id\":\"ask\",\"agent\":{\"prompt\":\"Look up a-1\",\"tools\":[\"stock\"]}}]}")
                    .expect(201);
            String id =
                    HttpCalls.call(
                                    "POST",
                                    executor.url() + "/api/v1/runs",
                                    Stack.EXECUTOR_ADMIN,
                                    "{\"workflow\":\"canary/brief\",\"input\":{\"topic\":\""
                                            + PROMPT
                                            + "\"},\"budget\":{\"maxTokens\":5000}}")
                            .expect(202)
                            .json()
                            .get("id")
                            .asText();
            await().atMost(Duration.ofSeconds(30))
                    .until(
                            () ->
                                    HttpCalls.call(
                                                    "GET",
                                                    executor.url() + "/api/v1/runs/" + id,
                                                    Stack.EXECUTOR_ADMIN,
                                                    null)
                                            .json()
                                            .get("status")
                                            .asText()
                                            .equals("succeeded"));
            List<FakeTool.Request> toolCalls = FakeTool.requests("canary-tool");
            assertEquals(2, toolCalls.size(), "the tool step and the agent's call: " + toolCalls);
            for (FakeTool.Request r : toolCalls) {
                assertEquals(
                        "Bearer " + TOOL_SECRET,
                        r.header("Authorization"),
                        "the tool secret reaches the tool, in its header");
                assertTrue(
                        !r.uri().contains(TOOL_SECRET) && !r.body().contains(TOOL_SECRET),
                        "and nowhere else in the request");
            }
            for (FakeGateway.Call c : FakeGateway.calls("")) {
                assertTrue(
                        !c.body().encode().contains(TOOL_SECRET),
                        "the tool secret never reaches a model");
            }
            FakeGateway.Call call = FakeGateway.calls(PROMPT).get(0);
            assertEquals(
                    "Bearer " + PROVIDER_KEY,
                    call.authorization(),
                    "the provider key reaches the provider, and only there");

            StringBuilder metrics = new StringBuilder();
            for (ServiceProcess p : List.of(stack.registry, stack.gateway, executor)) {
                metrics.append(HttpCalls.call("GET", p.url() + "/q/metrics", null, null).body());
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> spansHold(spans, "canary-model"));
            stack.stopProcesses(); // flushes logs and the last spans

            List<String> found = new ArrayList<>();
            String logs = logs();
            String traced = new String(spans.toByteArray(), StandardCharsets.ISO_8859_1);
            assertTrue(traced.contains("canary-model"), "spans were received: " + spans.size());
            assertTrue(
                    logs.contains("flotilla-gateway") && logs.contains("flotilla-executor"),
                    "the logs were read");
            for (String secret : secrets) {
                where(found, secret, "logs", logs);
                where(found, secret, "spans", traced);
                where(found, secret, "metrics", metrics.toString());
                for (String table : tablesHolding(stack, secret)) {
                    found.add("a secret in table " + table);
                }
            }
            where(found, PROMPT, "logs", logs);
            where(found, PROMPT, "spans", traced);
            where(found, PROMPT, "metrics", metrics.toString());
            List<String> promptTables = tablesHolding(stack, PROMPT);
            for (String table : promptTables) {
                if (!PROMPT_STORAGE.contains(table)) {
                    found.add("the prompt in table " + table);
                }
            }
            assertTrue(promptTables.contains("executor.runs"), "the search finds what is there");
            assertEquals(List.of(), found, "leaks");
        } finally {
            upstream.stop();
            tool.stop();
            vertx.close();
        }
    }

    private static boolean spansHold(ByteArrayOutputStream spans, String text) {
        synchronized (spans) {
            return new String(spans.toByteArray(), StandardCharsets.ISO_8859_1).contains(text);
        }
    }

    private static void where(List<String> found, String marker, String place, String text) {
        if (text.contains(marker)) {
            found.add(
                    (marker.equals(PROMPT)
                                    ? "the prompt"
                                    : "a secret ("
                                            + marker.substring(0, Math.min(6, marker.length()))
                                            + "...)")
                            + " in "
                            + place);
        }
    }

    private static String logs() throws Exception {
        StringBuilder all = new StringBuilder();
        for (String name : List.of("registry", "gateway", "canary-executor")) {
            all.append(Files.readString(Path.of("target", "it-logs", name + ".log")));
        }
        return all.toString();
    }

    /** Every table (schema.table) of the Flotilla schemas with a row whose text holds it. */
    private static List<String> tablesHolding(Stack stack, String marker) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = stack.db()) {
            List<String> tables = new ArrayList<>();
            try (ResultSet rs =
                    c.createStatement()
                            .executeQuery(
                                    "SELECT table_schema || '.' || table_name FROM information_schema.tables"
                                            + " WHERE table_schema IN ('executor', 'gateway', 'registry') AND table_type = 'BASE TABLE'")) {
                while (rs.next()) {
                    tables.add(rs.getString(1));
                }
            }
            for (String t : tables) {
                try (var ps =
                        c.prepareStatement(
                                "SELECT count(*) FROM "
                                        + t
                                        + " x WHERE row_to_json(x)::text LIKE ?")) {
                    ps.setString(1, "%" + marker + "%");
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        if (rs.getLong(1) > 0) {
                            out.add(t);
                        }
                    }
                }
            }
        }
        return out;
    }
}
