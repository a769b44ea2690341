package io.flotilla.operator;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.flotilla.common.workflow.WorkflowSpecs;
import io.flotilla.operator.crd.v1alpha1.Conditions;
import io.flotilla.operator.crd.v1alpha1.Workflow;
import io.flotilla.operator.crd.v1alpha1.WorkflowStatus;
import io.flotilla.testsupport.HttpCalls;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** Workflows against the Kubernetes mock server (CRUD mode) and the real executor. */
@QuarkusTest
@WithKubernetesTestServer(crud = true)
@QuarkusTestResource(StackResource.class)
class WorkflowReconcilerTest {

    static final String VALID =
            """
            defaults: {model: fast}
            steps:
              - {id: outline, agent: {prompt: "Outline {{input.topic}}"}}
              - {id: write, needs: [outline], agent: {prompt: "Write {{steps.outline.output}}"}}
            """;

    @Inject KubernetesClient client;

    private Workflow apply(String namespace, String name, String yaml) {
        return apply(client, namespace, name, yaml);
    }

    /** Creates or replaces a Workflow resource with this spec. */
    static Workflow apply(KubernetesClient client, String namespace, String name, String yaml) {
        Workflow wf = new Workflow();
        wf.setMetadata(new ObjectMetaBuilder().withName(name).withNamespace(namespace).build());
        wf.setSpec(WorkflowSpecs.parse(yaml));
        return client.resource(wf).createOr(op -> op.update());
    }

    private WorkflowStatus status(String namespace, String name) {
        Workflow wf = client.resources(Workflow.class).inNamespace(namespace).withName(name).get();
        return wf == null ? null : wf.getStatus();
    }

    private Condition condition(WorkflowStatus status, String type) {
        return status.getConditions().stream()
                .filter(c -> c.getType().equals(type))
                .findFirst()
                .orElseThrow();
    }

    @Test
    void aValidWorkflowBecomesReadyAndTheExecutorHasItsSpec() throws Exception {
        apply("team-a", "brief", VALID);
        await().atMost(Duration.ofSeconds(30))
                .until(() -> Conditions.isTrue(status("team-a", "brief"), "Ready"));

        WorkflowStatus status = status("team-a", "brief");
        assertTrue(Conditions.isTrue(status, "Accepted"));
        assertEquals(2, status.getSteps());
        assertEquals("Published", condition(status, "Ready").getReason());
        HttpCalls.Answer published =
                HttpCalls.call(
                        "GET",
                        StackResource.executorUrl + "/api/v1/workflows/team-a/brief",
                        StackResource.EXECUTOR_ADMIN,
                        null);
        assertEquals(200, published.status());
        assertEquals(
                status.getRevision(),
                published.json().get("revision").asText(),
                "status shows the executor's revision");
        assertEquals(
                "Write {{steps.outline.output}}",
                published.json().at("/spec/steps/1/agent/prompt").asText());
    }

    @Test
    void anInvalidWorkflowIsNotAcceptedAndTheMessageNamesEachPath() {
        apply(
                "team-a",
                "broken",
                """
                defaults: {model: fast}
                steps:
                  - {id: a, needs: [b], agent: {prompt: x}}
                  - {id: b, needs: [a], agent: {prompt: y}}
                  - {id: c, needs: [outlne], agent: {prompt: z}}
                """);
        await().atMost(Duration.ofSeconds(30))
                .until(
                        () ->
                                status("team-a", "broken") != null
                                        && !status("team-a", "broken").getConditions().isEmpty());

        Condition accepted = condition(status("team-a", "broken"), "Accepted");
        assertEquals("False", accepted.getStatus());
        assertEquals("Invalid", accepted.getReason());
        assertTrue(
                accepted.getMessage().contains("steps.c.needs[0]: unknown step 'outlne'"),
                accepted.getMessage());
        assertTrue(accepted.getMessage().contains("cycle"), accepted.getMessage());
        assertEquals("False", condition(status("team-a", "broken"), "Ready").getStatus());
    }

    @Test
    void aSpecTheExecutorRefusesIsNotAccepted() {
        apply(
                "team-a",
                "composing",
                """
                defaults: {model: fast}
                steps:
                  - {id: write, agent: {prompt: hi}}
                  - {id: child, needs: [write], workflow: {name: other}}
                """);
        await().atMost(Duration.ofSeconds(30))
                .until(
                        () ->
                                status("team-a", "composing") != null
                                        && !status("team-a", "composing")
                                                .getConditions()
                                                .isEmpty());
        Condition accepted = condition(status("team-a", "composing"), "Accepted");
        assertEquals("RejectedByExecutor", accepted.getReason());
        assertTrue(accepted.getMessage().contains("steps.child"), accepted.getMessage());
    }

    @Test
    void anUpdateBumpsObservedGenerationAndTheRevision() {
        apply("team-b", "evolving", VALID);
        await().atMost(Duration.ofSeconds(30))
                .until(() -> Conditions.isTrue(status("team-b", "evolving"), "Ready"));
        WorkflowStatus before = status("team-b", "evolving");
        String transitionedAt = condition(before, "Ready").getLastTransitionTime();

        apply(
                "team-b",
                "evolving",
                VALID.replace("Outline {{input.topic}}", "Outline {{input.topic}} in three parts"));
        await().atMost(Duration.ofSeconds(30))
                .until(
                        () ->
                                !status("team-b", "evolving")
                                        .getRevision()
                                        .equals(before.getRevision()));

        WorkflowStatus after = status("team-b", "evolving");
        assertTrue(
                after.getObservedGeneration() > before.getObservedGeneration(),
                before.getObservedGeneration() + " -> " + after.getObservedGeneration());
        assertEquals(
                after.getObservedGeneration(), condition(after, "Ready").getObservedGeneration());
        assertEquals(
                transitionedAt,
                condition(after, "Ready").getLastTransitionTime(),
                "Ready stayed True: no transition");
        assertNotEquals(before.getRevision(), after.getRevision());
    }

    @Test
    void deletingAWorkflowRemovesItFromTheExecutor() throws Exception {
        apply("team-c", "doomed", VALID);
        await().atMost(Duration.ofSeconds(30))
                .until(() -> Conditions.isTrue(status("team-c", "doomed"), "Ready"));
        assertTrue(
                client.resources(Workflow.class)
                                .inNamespace("team-c")
                                .withName("doomed")
                                .get()
                                .getMetadata()
                                .getFinalizers()
                                .size()
                        == 1,
                "a finalizer guards the executor's copy");

        client.resources(Workflow.class).inNamespace("team-c").withName("doomed").delete();
        await().atMost(Duration.ofSeconds(30))
                .until(
                        () ->
                                client.resources(Workflow.class)
                                                .inNamespace("team-c")
                                                .withName("doomed")
                                                .get()
                                        == null);
        assertEquals(
                404,
                HttpCalls.call(
                                "GET",
                                StackResource.executorUrl + "/api/v1/workflows/team-c/doomed",
                                StackResource.EXECUTOR_ADMIN,
                                null)
                        .status());
    }
}
