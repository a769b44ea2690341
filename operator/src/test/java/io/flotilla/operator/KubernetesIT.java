package io.flotilla.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.ConfigBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.flotilla.operator.crd.v1alpha1.Workflow;
import io.flotilla.operator.events.Events;
import io.flotilla.operator.executor.Cleanup;
import io.flotilla.operator.executor.ExecutorClient;
import io.flotilla.testsupport.HttpCalls;
import io.flotilla.testsupport.KubeApiServer;
import io.flotilla.testsupport.ServiceProcess;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * The operator end to end on a real Kubernetes API server (1.20.2): the packaged operator runs as a
 * process under a ServiceAccount token bound to exactly the Helm chart's RBAC, with the real
 * registry, gateway (mock provider) and executor; CRDs come from k8s/crds; everything is driven
 * with kubectl, as a user would.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KubernetesIT {

    static final String SYSTEM = "flotilla-system";
    static final String RELEASE = "e2e";
    static final String SA = RELEASE + "-operator";
    static final Duration CLEANUP_TIMEOUT = Duration.ofSeconds(6);

    static KubeApiServer api;
    static StackResource stack;
    static String operatorToken;
    static Path operatorKubeconfig;
    static final List<ServiceProcess> operators = new ArrayList<>();

    @BeforeAll
    static void start() throws Exception {
        api = KubeApiServer.shared();
        stack = new StackResource();
        stack.start();
        api.kubectl("apply", "-f", "../k8s/crds/");
        api.kubectl("create", "namespace", SYSTEM);
        // the operator's identity and permissions exactly as the chart renders them
        Path rbac = Files.createTempFile("rbac", ".yaml");
        Files.writeString(
                rbac,
                Helm.run(
                        "template",
                        RELEASE,
                        "../helm/flotilla",
                        "--namespace",
                        SYSTEM,
                        "--set",
                        "postgres.enabled=true",
                        "--show-only",
                        "templates/rbac.yaml",
                        "--show-only",
                        "templates/serviceaccounts.yaml"));
        api.kubectl("apply", "-n", SYSTEM, "-f", rbac.toString());
        operatorToken = api.serviceAccountToken(SYSTEM, SA);
        operatorKubeconfig = api.kubeconfig("operator", operatorToken, SYSTEM);
        operators.add(startOperator("operator-a"));
        Awaitility.await("operator-a leads")
                .atMost(Duration.ofSeconds(60))
                .until(() -> "operator-a".equals(leaseHolder()));
    }

    @AfterAll
    static void stop() throws Exception {
        for (ServiceProcess p : operators) {
            p.close();
        }
        if (stack != null) {
            stack.stop();
        }
    }

    static ServiceProcess startOperator(String identity) throws IOException {
        Map<String, String> env = new HashMap<>();
        // a kubeconfig, as kubectl uses: Quarkus would print a token given as
        // QUARKUS_KUBERNETES_CLIENT_TOKEN in a start-up warning (it is a build-time property)
        env.put("KUBECONFIG", operatorKubeconfig.toString());
        env.put("HOSTNAME", identity);
        env.put("POD_NAME", identity);
        env.put("POD_NAMESPACE", SYSTEM);
        env.put("FLOTILLA_OPERATOR_EXECUTOR_URL", StackResource.executorUrl);
        env.put("FLOTILLA_OPERATOR_EXECUTOR_TOKEN", StackResource.EXECUTOR_ADMIN);
        env.put("FLOTILLA_OPERATOR_REGISTRY_URL", StackResource.registryUrl);
        env.put("FLOTILLA_OPERATOR_REGISTRY_ADMIN_TOKEN", StackResource.REGISTRY_ADMIN);
        env.put("FLOTILLA_OPERATOR_GC_INTERVAL", "1s");
        env.put("FLOTILLA_OPERATOR_RUN_POLL", "500ms");
        env.put("FLOTILLA_OPERATOR_CLEANUP_TIMEOUT", CLEANUP_TIMEOUT.toSeconds() + "s");
        env.put("FLOTILLA_OPERATOR_LEADER_ELECTION", "true");
        return ServiceProcess.start(identity, "operator.jar", null, null, env).awaitReady();
    }

    static String leaseHolder() throws Exception {
        try {
            return api.kubectl(
                    "get",
                    "lease",
                    "flotilla-operator",
                    "-n",
                    SYSTEM,
                    "-o",
                    "jsonpath={.spec.holderIdentity}");
        } catch (KubeApiServer.CommandFailed notYet) {
            return "";
        }
    }

    static String get(String namespace, String resource, String jsonPath) throws Exception {
        return api.kubectl("get", resource, "-n", namespace, "-o", "jsonpath=" + jsonPath);
    }

    static String apply(String namespace, String yaml) throws Exception {
        Path file = Files.createTempFile("apply", ".yaml");
        Files.writeString(file, yaml);
        return api.kubectl("apply", "-n", namespace, "-f", file.toString());
    }

    static void await(String what, Duration atMost, Supplier<Boolean> condition) {
        Awaitility.await(what)
                .atMost(atMost)
                .pollInterval(Duration.ofMillis(250))
                .ignoreExceptions()
                .until(condition::get);
    }

    /** What {@code jsonPath} picks from the events of a namespace that match {@code selector}. */
    static String events(String namespace, String selector, String jsonPath) throws Exception {
        return api.kubectl(
                "get",
                "events",
                "-n",
                namespace,
                "--field-selector",
                selector,
                "-o",
                "jsonpath=" + jsonPath);
    }

    /** Applies a one-step Workflow in team-a. */
    static void publishSmallWorkflow(String name) throws Exception {
        apply(
                "team-a",
                """
                apiVersion: flotilla.io/v1alpha1
                kind: Workflow
                metadata: {name: %s}
                spec: {defaults: {model: fast}, steps: [{id: a, agent: {prompt: hello}}]}
                """
                        .formatted(name));
    }

    static String ready(String namespace, String workflow) throws Exception {
        return get(
                namespace,
                "workflow/" + workflow,
                "{.status.conditions[?(@.type==\"Ready\")].status}");
    }

    static Workflows workflows() {
        return new Workflows();
    }

    /** The executor's view of published workflows. */
    static final class Workflows {
        int status(String namespace, String name) throws Exception {
            return HttpCalls.call(
                            "GET",
                            StackResource.executorUrl
                                    + "/api/v1/workflows/"
                                    + namespace
                                    + "/"
                                    + name,
                            StackResource.EXECUTOR_ADMIN,
                            null)
                    .status();
        }
    }

    @Test
    @Order(1)
    void theExampleWorkflowBecomesReadyWithItsRevisionAndSteps() throws Exception {
        api.kubectl("create", "namespace", "team-a");
        api.kubectl("apply", "-n", "team-a", "-f", "../examples/research-brief.yaml");

        await(
                "research-brief Ready",
                Duration.ofSeconds(30),
                () -> call(() -> ready("team-a", "research-brief")).equals("True"));
        assertEquals(16, get("team-a", "workflow/research-brief", "{.status.revision}").length());
        assertEquals("4", get("team-a", "workflow/research-brief", "{.status.steps}"));
        String table = api.kubectl("get", "wf", "-n", "team-a");
        assertTrue(table.contains("research-brief") && table.contains("True"), table);
        assertEquals(200, workflows().status("team-a", "research-brief"));
        String explain = api.kubectl("explain", "workflow.spec.steps");
        assertTrue(
                explain.contains("The steps, in any order")
                        && explain.contains("maxParallel")
                        && explain.contains("at most this many items at once"),
                "kubectl explain describes the fields:\n" + explain);
    }

    @Test
    @Order(2)
    void aWorkflowRunSucceedsWithTokensAndCostInItsStatus() throws Exception {
        apply(
                "team-a",
                """
                apiVersion: flotilla.io/v1alpha1
                kind: WorkflowRun
                metadata: {name: brief-1}
                spec: {workflow: research-brief, input: {topic: tide pools}}
                """);

        await(
                "brief-1 Succeeded",
                Duration.ofSeconds(60),
                () ->
                        call(() -> get("team-a", "wfr/brief-1", "{.status.phase}"))
                                .equals("Succeeded"));
        long tokens = Long.parseLong(get("team-a", "wfr/brief-1", "{.status.tokens}"));
        double cost = Double.parseDouble(get("team-a", "wfr/brief-1", "{.status.costUsd}"));
        assertTrue(tokens > 0, "tokens " + tokens);
        assertTrue(cost > 0, "cost " + cost);
        String table = api.kubectl("get", "wfr", "-n", "team-a");
        assertTrue(
                table.contains("Succeeded") && table.contains(String.valueOf(tokens)),
                "kubectl get wfr shows phase and tokens:\n" + table);
    }

    @Test
    @Order(3)
    void theCrdSchemaRefusesWhatItCanSayAndConditionsReportTheRest() throws Exception {
        KubeApiServer.CommandFailed refused =
                assertThrows(
                        KubeApiServer.CommandFailed.class,
                        () ->
                                apply(
                                        "team-a",
                                        """
                                        apiVersion: flotilla.io/v1alpha1
                                        kind: Workflow
                                        metadata: {name: bad-schema}
                                        spec:
                                          context: {maxTokens: 8000, strategy: forget}
                                          steps:
                                            - {id: a, foreach: "input.items", maxParallel: 0, agent: {prompt: x}}
                                        """));
        assertTrue(refused.output.contains("Invalid value"), refused.output);
        assertTrue(refused.output.contains("maxParallel"), refused.output);
        assertTrue(refused.output.contains("strategy"), refused.output);

        apply(
                "team-a",
                """
                apiVersion: flotilla.io/v1alpha1
                kind: Workflow
                metadata: {name: bad-graph}
                spec:
                  steps:
                    - {id: a, needs: [b], agent: {prompt: first}}
                    - {id: b, needs: [a], agent: {prompt: second}}
                """);
        await(
                "bad-graph Accepted=False",
                Duration.ofSeconds(30),
                () ->
                        call(() ->
                                        get(
                                                "team-a",
                                                "workflow/bad-graph",
                                                "{.status.conditions[?(@.type==\"Accepted\")].reason}"))
                                .equals("Invalid"));
        String message =
                get(
                        "team-a",
                        "workflow/bad-graph",
                        "{.status.conditions[?(@.type==\"Accepted\")].message}");
        assertTrue(message.contains("cycle"), message);
        assertEquals(404, workflows().status("team-a", "bad-graph"));
    }

    @Test
    @Order(4)
    void deletingAWorkflowRemovesItFromTheExecutor() throws Exception {
        publishSmallWorkflow("short-lived");
        await(
                "short-lived Ready",
                Duration.ofSeconds(30),
                () -> call(() -> ready("team-a", "short-lived")).equals("True"));
        assertEquals(200, workflows().status("team-a", "short-lived"));

        api.kubectl("delete", "workflow", "short-lived", "-n", "team-a", "--timeout=30s");

        assertEquals(404, workflows().status("team-a", "short-lived"));
    }

    @Test
    @Order(5)
    void registrationsOfDeletedPodsAndNamespacesAreReapedWithEvents() throws Exception {
        api.kubectl("create", "namespace", "team-gc");
        for (String pod : List.of("agent-1", "agent-2")) {
            apply(
                    "team-gc",
                    """
                    apiVersion: v1
                    kind: Pod
                    metadata: {name: %s}
                    spec: {containers: [{name: agent, image: agent:1}]}
                    """
                            .formatted(pod));
        }
        Map<String, String> ids = new HashMap<>();
        for (String pod : List.of("agent-1", "agent-2")) {
            ids.put(
                    pod,
                    HttpCalls.call(
                                    "POST",
                                    StackResource.registryUrl + "/api/v1/agents",
                                    StackResource.REGISTRY_ADMIN,
                                    "{\"name\":\"worker\",\"kind\":\"agent\",\"namespace\":\"team-gc\","
                                            + "\"podName\":\""
                                            + pod
                                            + "\",\"ttlSeconds\":300}")
                            .expect(201)
                            .json()
                            .get("id")
                            .asText());
        }

        api.kubectl("delete", "pod", "agent-1", "-n", "team-gc", "--wait=false");
        await(
                "agent-1's registration reaped",
                Duration.ofSeconds(15),
                () -> call(() -> active(ids.get("agent-1"))) == false);
        assertTrue(active(ids.get("agent-2")), "the registration of a live pod stays");
        String events =
                events("team-gc", "reason=OrphanedRegistrationReaped", "{.items[*].message}");
        assertTrue(events.contains(ids.get("agent-1")), events);

        // no namespace controller here: the namespace stays Terminating with its pod, as it
        // would for a while in a cluster; its registrations are orphans already
        api.kubectl("delete", "namespace", "team-gc", "--wait=false");
        await(
                "agent-2's registration reaped with its namespace",
                Duration.ofSeconds(15),
                () -> call(() -> active(ids.get("agent-2"))) == false);
        String namespaceEvents =
                events(
                        "default",
                        "reason=OrphanedRegistrationReaped,involvedObject.kind=Namespace",
                        "{.items[*].message}");
        assertTrue(namespaceEvents.contains(ids.get("agent-2")), namespaceEvents);
    }

    static boolean active(String id) throws Exception {
        String list =
                HttpCalls.call(
                                "GET",
                                StackResource.registryUrl + "/api/v1/agents?status=active",
                                StackResource.REGISTRY_ADMIN,
                                null)
                        .expect(200)
                        .body();
        return list.contains(id);
    }

    @Test
    @Order(6)
    void theOperatorsTokenCanDoWhatTheChartGrantsAndNothingElse() throws Exception {
        List<String> kubectl =
                List.of(
                        api.bin().resolve("kubectl").toString(),
                        "--kubeconfig=" + operatorKubeconfig);
        String can =
                KubeApiServer.run(
                        concat(
                                kubectl,
                                "auth",
                                "can-i",
                                "watch",
                                "workflows.flotilla.io",
                                "--all-namespaces"),
                        null);
        assertEquals("yes", can.strip());
        KubeApiServer.CommandFailed forbidden =
                assertThrows(
                        KubeApiServer.CommandFailed.class,
                        () ->
                                KubeApiServer.run(
                                        concat(
                                                kubectl,
                                                "delete",
                                                "pod",
                                                "anything",
                                                "-n",
                                                "team-a"),
                                        null));
        assertTrue(forbidden.output.contains("Forbidden"), forbidden.output);
        KubeApiServer.CommandFailed secrets =
                assertThrows(
                        KubeApiServer.CommandFailed.class,
                        () ->
                                KubeApiServer.run(
                                        concat(kubectl, "get", "secrets", "-n", SYSTEM), null));
        assertTrue(secrets.output.contains("Forbidden"), secrets.output);
    }

    static List<String> concat(List<String> head, String... tail) {
        List<String> all = new ArrayList<>(head);
        all.addAll(List.of(tail));
        return all;
    }

    @Test
    @Order(7)
    void whenTheLeaderIsKilledTheStandbyTakesOverWithinTheLease() throws Exception {
        ServiceProcess standby = startOperator("operator-b");
        operators.add(standby);
        assertEquals("operator-a", leaseHolder());

        operators.get(0).kill();
        long killed = System.nanoTime();
        publishSmallWorkflow("after-failover");
        await(
                "after-failover Ready, reconciled by the standby",
                Duration.ofSeconds(45),
                () -> call(() -> ready("team-a", "after-failover")).equals("True"));
        long ms = (System.nanoTime() - killed) / 1_000_000;
        assertEquals("operator-b", leaseHolder());
        System.out.printf(
                "[leader election] kill -9 of the leader -> a new Workflow Ready on the standby: %d ms%n",
                ms);
    }

    @Test
    @Order(8)
    void aFinalizerNeverWedgesADeletionWhenTheExecutorIsGone() throws Exception {
        apply(
                "team-a",
                """
                apiVersion: flotilla.io/v1alpha1
                kind: Workflow
                metadata: {name: orphaned}
                spec: {defaults: {model: fast}, steps: [{id: a, agent: {prompt: hello}}]}
                ---
                apiVersion: flotilla.io/v1alpha1
                kind: Workflow
                metadata: {name: skipped, annotations: {%s: "true"}}
                spec: {defaults: {model: fast}, steps: [{id: a, agent: {prompt: hello}}]}
                """
                        .formatted(Cleanup.SKIP));
        await(
                "both Ready",
                Duration.ofSeconds(30),
                () ->
                        call(() -> ready("team-a", "orphaned")).equals("True")
                                && call(() -> ready("team-a", "skipped")).equals("True"));
        stack.stopExecutor();

        long start = System.nanoTime();
        api.kubectl("delete", "workflow", "skipped", "-n", "team-a", "--timeout=20s");
        long skippedMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(skippedMs < CLEANUP_TIMEOUT.toMillis(), "skipped at once: " + skippedMs + " ms");

        api.kubectl("delete", "workflow", "orphaned", "-n", "team-a", "--wait=false");
        assertFalse(
                get("team-a", "workflow/orphaned", "{.metadata.deletionTimestamp}").isEmpty(),
                "deletion pends while the executor may come back");
        await(
                "orphaned deleted after the cleanup timeout",
                CLEANUP_TIMEOUT.plusSeconds(20),
                () ->
                        call(() -> api.kubectl("get", "workflows", "-n", "team-a", "-o", "name"))
                                        .contains("orphaned")
                                == false);
        long orphanedMs = (System.nanoTime() - start) / 1_000_000;
        assertTrue(orphanedMs >= CLEANUP_TIMEOUT.toMillis() - 1000, "waited " + orphanedMs + " ms");
        String reasons = events("team-a", "type=Warning", "{.items[*].reason}");
        assertTrue(reasons.contains("CleanupSkipped"), reasons);
        assertTrue(reasons.contains("CleanupAbandoned"), reasons);
    }

    @Test
    @Order(9)
    void aCleanupTheExecutorRefusesEndsAtOnceWithAWarning() throws Exception {
        // an executor that refuses the DELETE (400, problem+json): trying again cannot help
        HttpServer refusing = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        refusing.createContext(
                "/",
                exchange -> {
                    byte[] body =
                            "{\"title\":\"Bad request\",\"detail\":\"no such thing\"}"
                                    .getBytes(StandardCharsets.UTF_8);
                    exchange.getResponseHeaders().add("Content-Type", "application/problem+json");
                    exchange.sendResponseHeaders(400, body.length);
                    exchange.getResponseBody().write(body);
                    exchange.close();
                });
        refusing.start();
        Config config =
                new ConfigBuilder()
                        .withMasterUrl(api.url())
                        .withOauthToken(operatorToken)
                        .withTrustCerts(true)
                        .build();
        try (KubernetesClient client = new KubernetesClientBuilder().withConfig(config).build()) {
            String url = "http://127.0.0.1:" + refusing.getAddress().getPort();
            Cleanup cleanup = new Cleanup(TestOperatorConfig.of(url), new Events(client));
            ExecutorClient executor =
                    new ExecutorClient(TestOperatorConfig.of(url), new ObjectMapper());
            Workflow wf = new Workflow();
            wf.setMetadata(
                    new ObjectMetaBuilder()
                            .withName("refused")
                            .withNamespace("team-a")
                            .withUid("00000000-0000-0000-0000-000000000001")
                            .withDeletionTimestamp(Instant.now().toString())
                            .build());

            DeleteControl control =
                    cleanup.run(
                            wf,
                            "workflow team-a/refused",
                            () -> executor.delete("team-a", "refused"));

            assertTrue(control.isRemoveFinalizer(), "a refusal ends the cleanup at once");
        } finally {
            refusing.stop(0);
        }
        String warnings =
                events(
                        "team-a",
                        "reason=CleanupFailed,involvedObject.name=refused",
                        "{.items[*].message}");
        assertTrue(warnings.contains("the executor refused"), warnings);
    }

    /** Rethrows a checked exception unchecked, for conditions Awaitility retries on failure. */
    static <T> T call(java.util.concurrent.Callable<T> c) {
        try {
            return c.call();
        } catch (RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
