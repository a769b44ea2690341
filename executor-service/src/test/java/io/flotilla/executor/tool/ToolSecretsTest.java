package io.flotilla.executor.tool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.common.auth.KubernetesAuthConfig;
import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.executor.step.FailureKind;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpServer;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tool secrets from the executor's FLOTILLA_TOOL_* environment and from labelled Secrets, read from
 * an in-test server that answers the Kubernetes API's Secret reads.
 */
class ToolSecretsTest {

    private static final Vertx VERTX = Vertx.vertx();
    private static final List<String> AUTHORIZATIONS = new CopyOnWriteArrayList<>();
    private static int port;

    @TempDir static Path dir;

    @BeforeAll
    static void kubernetes() throws Exception {
        Map<String, JsonObject> secrets =
                Map.of(
                        "/api/v1/namespaces/team/secrets/orders",
                        secret(
                                "orders",
                                Map.of("flotilla.io/tool-secret", "true"),
                                "token",
                                "s3cret"),
                        "/api/v1/namespaces/team/secrets/database",
                        secret("database", Map.of(), "password", "db-password"));
        HttpServer server =
                VERTX.createHttpServer()
                        .requestHandler(
                                r -> {
                                    AUTHORIZATIONS.add(r.getHeader("Authorization"));
                                    JsonObject s = secrets.get(r.path());
                                    r.response()
                                            .setStatusCode(s == null ? 404 : 200)
                                            .putHeader("Content-Type", "application/json")
                                            .end(
                                                    s == null
                                                            ? "{\"kind\":\"Status\",\"code\":404}"
                                                            : s.encode());
                                })
                        .listen(0, "127.0.0.1")
                        .toCompletionStage()
                        .toCompletableFuture()
                        .get(10, TimeUnit.SECONDS);
        port = server.actualPort();
        Files.writeString(dir.resolve("token"), "pod-token\n");
    }

    @AfterAll
    static void stop() {
        VERTX.close();
    }

    private static JsonObject secret(
            String name, Map<String, Object> labels, String key, String value) {
        return new JsonObject()
                .put("apiVersion", "v1")
                .put("kind", "Secret")
                .put(
                        "metadata",
                        new JsonObject()
                                .put("name", name)
                                .put("namespace", "team")
                                .put("labels", new JsonObject(labels)))
                .put("type", "Opaque")
                .put(
                        "data",
                        new JsonObject()
                                .put(
                                        key,
                                        Base64.getEncoder()
                                                .encodeToString(
                                                        value.getBytes(StandardCharsets.UTF_8))));
    }

    private ToolSecrets secrets() {
        KubernetesAuthConfig config =
                new KubernetesAuthConfig() {
                    public boolean enabled() {
                        return false;
                    }

                    public String url() {
                        return "http://127.0.0.1:" + port;
                    }

                    public Path tokenFile() {
                        return dir.resolve("token");
                    }

                    public Path caFile() {
                        return dir.resolve("no-ca.crt");
                    }

                    public Duration cacheTtl() {
                        return Duration.ofSeconds(10);
                    }

                    public Optional<List<String>> admins() {
                        return Optional.empty();
                    }
                };
        return new ToolSecrets(
                config,
                new ObjectMapper(),
                name -> name.equals("FLOTILLA_TOOL_ORDERS") ? "env-secret" : null);
    }

    private static WorkflowSpec.SecretHeader ref(String name, String key) {
        return new WorkflowSpec.SecretHeader(
                "Authorization", "Bearer ", new WorkflowSpec.SecretKeyRef(name, key), null);
    }

    private static WorkflowSpec.SecretHeader env(String name) {
        return new WorkflowSpec.SecretHeader("X-Key", null, null, name);
    }

    private String refused(WorkflowSpec.SecretHeader header, FailureKind kind) {
        ToolHttp.ToolFailed f =
                assertThrows(ToolHttp.ToolFailed.class, () -> secrets().value(header, "team"));
        assertEquals(kind, f.kind, f.getMessage());
        return f.getMessage();
    }

    @Test
    void aLabelledSecretsKeyIsReadWithThePodsToken() {
        assertEquals("Bearer s3cret", secrets().value(ref("orders", "token"), "team"));
        assertEquals("Bearer pod-token", AUTHORIZATIONS.get(AUTHORIZATIONS.size() - 1));
    }

    @Test
    void anUnlabelledOrMissingSecretOrKeyIsRefusedWithoutItsValue() {
        assertEquals(
                "the Secret team/database is not labelled flotilla.io/tool-secret=true; tools read"
                        + " only Secrets labelled for them",
                refused(ref("database", "password"), FailureKind.FATAL));
        assertEquals(
                "the Secret team/orders has no key 'password'",
                refused(ref("orders", "password"), FailureKind.FATAL));
        assertEquals(
                "the Secret team/missing does not exist",
                refused(ref("missing", "token"), FailureKind.FATAL));
    }

    @Test
    void onlyToolEnvironmentVariablesAreHandedOut() {
        assertEquals("env-secret", secrets().value(env("FLOTILLA_TOOL_ORDERS"), "team"));
        assertEquals(
                "the executor has no environment variable FLOTILLA_TOOL_OTHER (set it in the"
                        + " executor's Deployment)",
                refused(env("FLOTILLA_TOOL_OTHER"), FailureKind.FATAL));
        assertEquals(
                "the secret env QUARKUS_DATASOURCE_PASSWORD is not named FLOTILLA_TOOL_*",
                refused(env("QUARKUS_DATASOURCE_PASSWORD"), FailureKind.FATAL));
    }
}
