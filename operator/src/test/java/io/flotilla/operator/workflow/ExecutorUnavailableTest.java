package io.flotilla.operator.workflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ObjectMetaBuilder;
import io.flotilla.common.workflow.WorkflowSpecs;
import io.flotilla.operator.TestOperatorConfig;
import io.flotilla.operator.crd.v1alpha1.Workflow;
import io.flotilla.operator.executor.ExecutorClient;
import io.flotilla.testsupport.ServiceProcess;
import org.junit.jupiter.api.Test;

/**
 * An executor nobody answers at: the reconcile fails, and the error status says ExecutorUnavailable
 * (JOSDK then retries with backoff).
 */
class ExecutorUnavailableTest {

    private final ObjectMapper json = new ObjectMapper();

    @Test
    void anUnreachableExecutorLeavesReadyFalseWithTheReason() throws Exception {
        int closedPort = ServiceProcess.freePort(); // free now, nobody listens
        WorkflowReconciler reconciler =
                new WorkflowReconciler(
                        new ExecutorClient(
                                TestOperatorConfig.of("http://127.0.0.1:" + closedPort), json),
                        null, // this test deletes nothing, so no cleanup
                        json);
        Workflow wf = new Workflow();
        wf.setMetadata(
                new ObjectMetaBuilder()
                        .withName("brief")
                        .withNamespace("team-a")
                        .withGeneration(3L)
                        .build());
        wf.setSpec(
                WorkflowSpecs.parse(
                        "defaults: {model: fast}\nsteps: [{id: a, agent: {prompt: hi}}]"));

        Exception failure =
                assertThrows(
                        ExecutorClient.Unavailable.class, () -> reconciler.reconcile(wf, null));
        var control = reconciler.updateErrorStatus(wf, null, failure);

        assertTrue(control.getResource().isPresent(), "the status is patched");
        Condition ready =
                control.getResource().get().getStatus().getConditions().stream()
                        .filter(c -> c.getType().equals("Ready"))
                        .findFirst()
                        .orElseThrow();
        assertEquals("False", ready.getStatus());
        assertEquals("ExecutorUnavailable", ready.getReason());
        assertTrue(ready.getMessage().contains("cannot be reached"), ready.getMessage());
        assertEquals(3L, control.getResource().get().getStatus().getObservedGeneration());
        assertTrue(
                reconciler
                        .updateErrorStatus(control.getResource().get(), null, failure)
                        .getResource()
                        .isEmpty(),
                "the same failure again changes nothing, so nothing is patched");
    }
}
