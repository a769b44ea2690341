package io.flotilla.operator.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.operator.config.OperatorConfig;
import io.flotilla.operator.crd.v1alpha1.Conditions;
import io.flotilla.operator.crd.v1alpha1.WorkflowRun;
import io.flotilla.operator.crd.v1alpha1.WorkflowRunStatus;
import io.flotilla.operator.executor.Cleanup;
import io.flotilla.operator.executor.ExecutorClient;
import io.javaoperatorsdk.operator.api.reconciler.Cleaner;
import io.javaoperatorsdk.operator.api.reconciler.Context;
import io.javaoperatorsdk.operator.api.reconciler.ControllerConfiguration;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import io.javaoperatorsdk.operator.api.reconciler.Reconciler;
import io.javaoperatorsdk.operator.api.reconciler.UpdateControl;
import io.javaoperatorsdk.operator.processing.retry.GradualRetry;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;

/**
 * WorkflowRun: starts the executor run once (idempotency key = the resource's uid, so a lost status
 * or a second reconcile finds the same run), then mirrors phase, tokens, cost, times and an output
 * summary until the run ends. Deleting a running WorkflowRun cancels its run.
 */
@ApplicationScoped
@ControllerConfiguration(
        name = "workflowrun",
        generationAwareEventProcessing = false) // status edits count too
@GradualRetry(
        maxAttempts = 10_000,
        initialInterval = 1_000,
        intervalMultiplier = 2,
        maxInterval = 60_000)
public class WorkflowRunReconciler implements Reconciler<WorkflowRun>, Cleaner<WorkflowRun> {

    static final String STARTED = "Started";
    private final ObjectMapper json;
    private static final int SUMMARY = 200;

    private final ExecutorClient executor;
    private final Cleanup cleanup;
    private final Duration poll;

    WorkflowRunReconciler(
            ExecutorClient executor, Cleanup cleanup, OperatorConfig config, ObjectMapper json) {
        this.json = json;
        this.cleanup = cleanup;
        this.executor = executor;
        this.poll = config.runPoll();
    }

    @Override
    public UpdateControl<WorkflowRun> reconcile(WorkflowRun wr, Context<WorkflowRun> context) {
        WorkflowRunStatus status =
                wr.getStatus() == null
                        ? new WorkflowRunStatus()
                        : json.convertValue(wr.getStatus(), WorkflowRunStatus.class);
        long generation =
                wr.getMetadata().getGeneration() == null ? 0 : wr.getMetadata().getGeneration();
        if (status.getRunId() == null) {
            ObjectNode request =
                    json.createObjectNode()
                            .put(
                                    "workflow",
                                    wr.getMetadata().getNamespace() + "/" + wr.getSpec().workflow())
                            .put("idempotencyKey", wr.getMetadata().getUid());
            request.set("input", wr.getSpec().input());
            request.set("budget", json.valueToTree(wr.getSpec().budget()));
            try {
                status.setRunId(executor.start(request).path("id").asText());
            } catch (ExecutorClient.Rejected e) {
                boolean waiting = e.status == 404; // the Workflow may not be published yet
                status.setPhase(waiting ? "Pending" : "Failed");
                status.setMessage(e.getMessage());
                Conditions.set(
                        status,
                        generation,
                        STARTED,
                        false,
                        waiting ? "WorkflowNotFound" : "Rejected",
                        e.getMessage());
                UpdateControl<WorkflowRun> control = patchIfChanged(wr, status);
                return waiting ? control.rescheduleAfter(poll.multipliedBy(2)) : control;
            }
            Conditions.set(
                    status,
                    generation,
                    STARTED,
                    true,
                    "Started",
                    "run " + status.getRunId() + " started in the executor");
        }
        mirror(status, executor.run(status.getRunId()));
        UpdateControl<WorkflowRun> control = patchIfChanged(wr, status);
        return "Running".equals(status.getPhase()) ? control.rescheduleAfter(poll) : control;
    }

    private static void mirror(WorkflowRunStatus status, JsonNode run) {
        String s = run.path("status").asText();
        status.setPhase(s.isEmpty() ? null : Character.toUpperCase(s.charAt(0)) + s.substring(1));
        status.setTokens(run.path("tokens").asLong());
        status.setCostUsd(run.path("costUsd").asDouble());
        status.setStartTime(run.path("createdAt").asText(null));
        status.setFinishTime(run.path("finishedAt").asText(null));
        status.setMessage(run.path("reason").asText(null));
        JsonNode output = run.get("output");
        if (output != null && !output.isNull()) {
            String text = output.isTextual() ? output.asText() : output.toString();
            status.setOutput(text.length() > SUMMARY ? text.substring(0, SUMMARY) + "…" : text);
        }
    }

    @Override
    public DeleteControl cleanup(WorkflowRun wr, Context<WorkflowRun> context) {
        if (wr.getStatus() == null
                || wr.getStatus().getRunId() == null
                || !"Running".equals(wr.getStatus().getPhase())) {
            return DeleteControl.defaultDelete();
        }
        return cleanup.run(
                wr,
                "the run "
                        + wr.getStatus().getRunId()
                        + " of workflowrun "
                        + wr.getMetadata().getName(),
                () -> executor.cancel(wr.getStatus().getRunId()));
    }

    private static UpdateControl<WorkflowRun> patchIfChanged(
            WorkflowRun wr, WorkflowRunStatus status) {
        if (status.equals(wr.getStatus())) {
            return UpdateControl.noUpdate();
        }
        wr.setStatus(status);
        return UpdateControl.patchStatus(wr);
    }
}
