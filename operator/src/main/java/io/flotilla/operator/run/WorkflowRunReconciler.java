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
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

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

    /** Annotations that decide an approval step: the value names the step ({@code id[item]}). */
    public static final String APPROVE = "flotilla.io/approve";

    public static final String REJECT = "flotilla.io/reject";

    /** Who decides, as the decision records it (default: kubernetes). */
    public static final String DECIDED_BY = "flotilla.io/decided-by";

    public static final String COMMENT = "flotilla.io/decision-comment";

    static final String AWAITING = "AwaitingApproval";
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
        JsonNode run = executor.run(status.getRunId());
        if (decide(wr, status.getRunId(), awaiting(run))) {
            run = executor.run(status.getRunId());
        }
        mirror(status, run);
        UpdateControl<WorkflowRun> control = patchIfChanged(wr, status);
        return running(status.getPhase()) ? control.rescheduleAfter(poll) : control;
    }

    static boolean running(String phase) {
        return "Running".equals(phase) || AWAITING.equals(phase);
    }

    /** A step (item -1) or foreach item awaiting approval, and its name: {@code id[item]}. */
    private record Awaiting(String id, int item) {
        String name() {
            return item < 0 ? id : id + "[" + item + "]";
        }
    }

    /** The steps and items of a run that await approval. */
    private static List<Awaiting> awaiting(JsonNode run) {
        List<Awaiting> steps = new ArrayList<>();
        for (JsonNode s : run.path("steps")) {
            if ("awaiting_approval".equals(s.path("status").asText())) {
                steps.add(
                        new Awaiting(
                                s.path("id").asText(),
                                s.hasNonNull("item") ? s.path("item").asInt() : -1));
            }
        }
        return steps;
    }

    /**
     * Passes an approve/reject annotation on to the executor when the step it names awaits
     * approval; true when a decision was taken. The annotation can stay: once decided, the step no
     * longer awaits, and nothing is sent again.
     */
    private boolean decide(WorkflowRun wr, String runId, List<Awaiting> awaiting) {
        Map<String, String> a = wr.getMetadata().getAnnotations();
        if (a == null) {
            return false;
        }
        boolean approve = a.containsKey(APPROVE);
        String named = approve ? a.get(APPROVE) : a.get(REJECT);
        for (Awaiting step : awaiting) {
            if (named != null && step.name().equals(named.strip())) {
                return executor.decide(
                        runId,
                        step.id(),
                        step.item(),
                        approve,
                        a.getOrDefault(DECIDED_BY, "kubernetes"),
                        a.get(COMMENT));
            }
        }
        return false;
    }

    private static void mirror(WorkflowRunStatus status, JsonNode run) {
        String s = run.path("status").asText();
        status.setPhase(s.isEmpty() ? null : Character.toUpperCase(s.charAt(0)) + s.substring(1));
        List<Awaiting> awaiting = awaiting(run);
        status.setTokens(run.path("tokens").asLong());
        status.setCostUsd(run.path("costUsd").asDouble());
        status.setStartTime(run.path("createdAt").asText(null));
        status.setFinishTime(run.path("finishedAt").asText(null));
        status.setMessage(run.path("reason").asText(null));
        if ("Running".equals(status.getPhase()) && !awaiting.isEmpty()) {
            status.setPhase(AWAITING);
            status.setMessage(
                    awaiting.stream()
                                    .map(Awaiting::name)
                                    .collect(java.util.stream.Collectors.joining(", "))
                            + " awaiting approval: annotate "
                            + APPROVE
                            + "=<step> or "
                            + REJECT
                            + "=<step> (and "
                            + DECIDED_BY
                            + "=<who>), or POST the executor's .../approve");
        }
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
                || !running(wr.getStatus().getPhase())) {
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
