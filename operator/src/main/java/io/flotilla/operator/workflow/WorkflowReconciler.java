package io.flotilla.operator.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.common.problem.Problem.FieldError;
import io.flotilla.common.workflow.WorkflowSpecs;
import io.flotilla.common.workflow.WorkflowValidator;
import io.flotilla.operator.crd.v1alpha1.Conditions;
import io.flotilla.operator.crd.v1alpha1.Workflow;
import io.flotilla.operator.crd.v1alpha1.WorkflowStatus;
import io.flotilla.operator.executor.Cleanup;
import io.flotilla.operator.executor.ExecutorClient;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.ErrorStatusUpdateControl;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.retry.GradualRetry;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Workflow: validate with the shared validator (Accepted, with every problem's path), publish to
 * the executor (Ready, with the revision); a finalizer removes it from the executor on delete. An
 * unreachable executor leaves Ready=False/ExecutorUnavailable and is retried with backoff.
 */
@ApplicationScoped
@ControllerConfiguration(name = "workflow")
@GradualRetry(
        maxAttempts = 10_000,
        initialInterval = 1_000,
        intervalMultiplier = 2,
        maxInterval = 60_000)
public class WorkflowReconciler implements Reconciler<Workflow>, Cleaner<Workflow> {

    static final String ACCEPTED = "Accepted";
    static final String READY = "Ready";
    private final ObjectMapper json;

    private final ExecutorClient executor;
    private final Cleanup cleanup;

    WorkflowReconciler(ExecutorClient executor, Cleanup cleanup, ObjectMapper json) {
        this.json = json;
        this.cleanup = cleanup;
        this.executor = executor;
    }

    @Override
    public UpdateControl<Workflow> reconcile(Workflow wf, Context<Workflow> context)
            throws Exception {
        WorkflowStatus status = copy(wf.getStatus());
        long generation = generation(wf);
        status.setSteps(wf.getSpec() == null ? 0 : wf.getSpec().steps().size());
        List<FieldError> problems = WorkflowValidator.validate(wf.getSpec());
        if (!problems.isEmpty()) {
            Conditions.set(
                    status,
                    generation,
                    ACCEPTED,
                    false,
                    "Invalid",
                    problems.stream()
                            .map(p -> p.field() + ": " + p.message())
                            .collect(Collectors.joining("; ")));
            Conditions.set(
                    status,
                    generation,
                    READY,
                    false,
                    "Invalid",
                    "not published: the spec has problems (see Accepted)");
            return patchIfChanged(wf, status);
        }
        Conditions.set(status, generation, ACCEPTED, true, "Valid", "the spec is valid");
        JsonNode published;
        try {
            published =
                    executor.publish(
                            wf.getMetadata().getNamespace(),
                            wf.getMetadata().getName(),
                            json.readTree(WorkflowSpecs.toJson(wf.getSpec())));
        } catch (ExecutorClient.Rejected e) {
            Conditions.set(
                    status, generation, ACCEPTED, false, "RejectedByExecutor", e.getMessage());
            Conditions.set(
                    status,
                    generation,
                    READY,
                    false,
                    "RejectedByExecutor",
                    "the executor refused the spec (see Accepted)");
            return patchIfChanged(wf, status);
        }
        status.setRevision(published.path("revision").asText());
        Conditions.set(
                status,
                generation,
                READY,
                true,
                "Published",
                "revision " + status.getRevision() + " is published to the executor");
        return patchIfChanged(wf, status);
    }

    @Override
    public ErrorStatusUpdateControl<Workflow> updateErrorStatus(
            Workflow wf, Context<Workflow> context, Exception e) {
        if (!(e instanceof ExecutorClient.Unavailable)) {
            return ErrorStatusUpdateControl.defaultErrorProcessing();
        }
        WorkflowStatus status = copy(wf.getStatus());
        Conditions.set(
                status,
                generation(wf),
                READY,
                false,
                "ExecutorUnavailable",
                e.getMessage() + "; retrying with backoff");
        if (status.equals(wf.getStatus())) {
            return ErrorStatusUpdateControl.noStatusUpdate();
        }
        wf.setStatus(status);
        return ErrorStatusUpdateControl.patchStatus(wf);
    }

    @Override
    public DeleteControl cleanup(Workflow wf, Context<Workflow> context) {
        return cleanup.run(
                wf,
                "workflow " + wf.getMetadata().getNamespace() + "/" + wf.getMetadata().getName(),
                () -> executor.delete(wf.getMetadata().getNamespace(), wf.getMetadata().getName()));
    }

    private static UpdateControl<Workflow> patchIfChanged(Workflow wf, WorkflowStatus status) {
        if (status.equals(wf.getStatus())) {
            return UpdateControl.noUpdate();
        }
        wf.setStatus(status);
        return UpdateControl.patchStatus(wf);
    }

    private static long generation(Workflow wf) {
        return wf.getMetadata().getGeneration() == null ? 0 : wf.getMetadata().getGeneration();
    }

    private WorkflowStatus copy(WorkflowStatus status) {
        return status == null
                ? new WorkflowStatus()
                : json.convertValue(status, WorkflowStatus.class);
    }
}
