package io.flotilla.operator;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.flotilla.operator.crd.v1alpha1.Conditions;
import io.flotilla.operator.crd.v1alpha1.Workflow;
import io.flotilla.operator.crd.v1alpha1.WorkflowRun;
import io.flotilla.operator.crd.v1alpha1.WorkflowRunSpec;
import io.flotilla.operator.crd.v1alpha1.WorkflowRunStatus;
import io.flotilla.operator.run.WorkflowRunReconciler;
import io.flotilla.testsupport.HttpCalls;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * WorkflowRuns against the Kubernetes mock server and the real executor, gateway (mock provider)
 * and registry.
 */
@QuarkusTest
@WithKubernetesTestServer(crud = true)
@QuarkusTestResource(StackResource.class)
class WorkflowRunReconcilerTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Inject KubernetesClient client;

    private void workflow(String namespace, String name, String yaml) {
        WorkflowReconcilerTest.apply(client, namespace, name, yaml);
        await().atMost(Duration.ofSeconds(30))
                .until(
                        () ->
                                Conditions.isTrue(
                                        client.resources(Workflow.class)
                                                .inNamespace(namespace)
                                                .withName(name)
                                                .get()
                                                .getStatus(),
                                        "Ready"));
    }

    private WorkflowRun run(String namespace, String name, String workflow, String input)
            throws Exception {
        WorkflowRun wr = new WorkflowRun();
        wr.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
        wr.setSpec(new WorkflowRunSpec(workflow, JSON.readTree(input), null));
        return client.resource(wr).create();
    }

    private WorkflowRunStatus status(String namespace, String name) {
        WorkflowRun wr =
                client.resources(WorkflowRun.class).inNamespace(namespace).withName(name).get();
        return wr == null ? null : wr.getStatus();
    }

    @Test
    void anApprovalShowsAsAwaitingApprovalAndAnAnnotationDecidesIt() throws Exception {
        workflow(
                "runs",
                "gated",
                """
                defaults: {model: fast}
                steps:
                  - {id: draft, agent: {prompt: "Draft a note"}}
                  - {id: approve, needs: [draft], approval: {}}
                """);
        run("runs", "gated-1", "gated", "{}");
        await().atMost(Duration.ofSeconds(60))
                .until(
                        () ->
                                status("runs", "gated-1") != null
                                        && "AwaitingApproval"
                                                .equals(status("runs", "gated-1").getPhase()));
        assertTrue(
                status("runs", "gated-1").getMessage().contains("approve awaiting approval"),
                status("runs", "gated-1").getMessage());

        client.resources(WorkflowRun.class)
                .inNamespace("runs")
                .withName("gated-1")
                .edit(
                        wr -> {
                            wr.getMetadata()
                                    .setAnnotations(
                                            java.util.Map.of(
                                                    WorkflowRunReconciler.APPROVE, "approve",
                                                    WorkflowRunReconciler.DECIDED_BY, "ops-oncall",
                                                    WorkflowRunReconciler.COMMENT, "looks fine"));
                            return wr;
                        });

        await().atMost(Duration.ofSeconds(60))
                .until(() -> "Succeeded".equals(status("runs", "gated-1").getPhase()));
        JsonNode run =
                HttpCalls.call(
                                "GET",
                                StackResource.executorUrl
                                        + "/api/v1/runs/"
                                        + status("runs", "gated-1").getRunId(),
                                StackResource.EXECUTOR_ADMIN,
                                null)
                        .json();
        JsonNode decision = run.get("output");
        assertEquals("approved", decision.get("decision").asText(), run.toString());
        assertEquals("ops-oncall", decision.get("by").asText());
        assertEquals("looks fine", decision.get("comment").asText());
    }

    @Test
    void aRunStartsOnceAndItsStatusFollowsTheRunToSucceeded() throws Exception {
        workflow(
                "runs",
                "brief",
                """
                input: {schema: {type: object, required: [topic], properties: {topic: {type: string}}}}
                defaults: {model: fast}
                steps:
                  - {id: outline, agent: {prompt: "Outline {{input.topic}}"}}
                  - {id: write, needs: [outline], agent: {prompt: "Write {{steps.outline.output}}"}}
                """);
        run("runs", "brief-1", "brief", "{\"topic\": \"tides\"}");

        await().atMost(Duration.ofSeconds(60))
                .until(
                        () ->
                                status("runs", "brief-1") != null
                                        && "Succeeded"
                                                .equals(status("runs", "brief-1").getPhase()));
        WorkflowRunStatus done = status("runs", "brief-1");
        assertTrue(done.getTokens() > 0, "tokens mirrored: " + done.getTokens());
        assertTrue(done.getCostUsd() > 0, "cost mirrored: " + done.getCostUsd());
        assertNotNull(done.getStartTime());
        assertNotNull(done.getFinishTime());
        assertTrue(done.getOutput().startsWith("[mock]"), "an output summary: " + done.getOutput());
        assertTrue(Conditions.isTrue(done, "Started"));

        // the status is lost (as if a patch never landed): the reconcile it triggers starts "again"
        // with the
        // same idempotency key, the uid, and finds the same run
        WorkflowRun lost =
                client.resources(WorkflowRun.class).inNamespace("runs").withName("brief-1").get();
        lost.setStatus(new WorkflowRunStatus());
        client.resource(lost).updateStatus();
        await().atMost(Duration.ofSeconds(30))
                .until(
                        () ->
                                status("runs", "brief-1").getRunId() != null
                                        && "Succeeded"
                                                .equals(status("runs", "brief-1").getPhase()));
        assertEquals(
                done.getRunId(),
                status("runs", "brief-1").getRunId(),
                "the same run, not a second one");

        JsonNode runs =
                HttpCalls.call(
                                "GET",
                                StackResource.executorUrl + "/api/v1/runs?workflow=runs/brief",
                                StackResource.EXECUTOR_ADMIN,
                                null)
                        .json();
        assertEquals(1, runs.size(), "started exactly once: " + runs);
        assertEquals(done.getRunId(), runs.get(0).get("id").asText());
    }

    @Test
    void aRunWithInputTheWorkflowRefusesFailsWithTheExecutorsReason() throws Exception {
        workflow(
                "runs",
                "strict",
                """
                input: {schema: {type: object, required: [topic], properties: {topic: {type: string}}}}
                defaults: {model: fast}
                steps:
                  - {id: only, agent: {prompt: "{{input.topic}}"}}
                """);
        run("runs", "strict-1", "strict", "{}");
        await().atMost(Duration.ofSeconds(30))
                .until(
                        () ->
                                status("runs", "strict-1") != null
                                        && "Failed".equals(status("runs", "strict-1").getPhase()));
        assertTrue(
                status("runs", "strict-1").getMessage().contains("topic"),
                status("runs", "strict-1").getMessage());
    }

    @Test
    void deletingARunningWorkflowRunCancelsItsRun() throws Exception {
        workflow(
                "runs",
                "long",
                """
                defaults: {model: slow}
                steps:
                  - id: review
                    loop: {maxIterations: 100, until: "false"}
                    agent: {prompt: "again"}
                """);
        run("runs", "long-1", "long", "{}");
        await().atMost(Duration.ofSeconds(30))
                .until(
                        () ->
                                status("runs", "long-1") != null
                                        && "Running".equals(status("runs", "long-1").getPhase()));
        String runId = status("runs", "long-1").getRunId();

        client.resources(WorkflowRun.class).inNamespace("runs").withName("long-1").delete();
        await().atMost(Duration.ofSeconds(30))
                .until(
                        () ->
                                client.resources(WorkflowRun.class)
                                                .inNamespace("runs")
                                                .withName("long-1")
                                                .get()
                                        == null);
        JsonNode run =
                HttpCalls.call(
                                "GET",
                                StackResource.executorUrl + "/api/v1/runs/" + runId,
                                StackResource.EXECUTOR_ADMIN,
                                null)
                        .json();
        assertEquals("cancelled", run.get("status").asText(), run.toString());
    }
}
