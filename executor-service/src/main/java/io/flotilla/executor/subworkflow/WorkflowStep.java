package io.flotilla.executor.subworkflow;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.common.problem.Problem;
import io.flotilla.common.problem.ProblemException;
import io.flotilla.common.workflow.Expressions;
import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.executor.run.RunQueries;
import io.flotilla.executor.run.RunService;
import io.flotilla.executor.step.Claim;
import io.flotilla.executor.step.FailureKind;
import io.flotilla.executor.step.RunStatus;
import io.flotilla.executor.step.StepKind;
import io.flotilla.executor.store.RunStore;
import jakarta.inject.Singleton;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;

/**
 * Runs a published workflow of the same namespace as a child run. The first execution starts it
 * (idempotently, by the step execution's key: an executor that takes the step over finds the child
 * its dead predecessor started) and hands the step back; the child's end makes the step ready
 * again, and the next execution answers the child's output, tokens and cost as the step's, or fails
 * with the child's reason. The child's budget scope nests in the parent run's, so the parent's
 * budget bounds both; cancelling or failing the parent cancels the child.
 */
@Singleton
public class WorkflowStep implements StepKind {

    /**
     * How long a step sleeps before it looks at its child again if no wake-up came (one is sent
     * when the child ends; this only covers a lost one).
     */
    static final Duration RECHECK = Duration.ofMinutes(5);

    private final RunService runs;
    private final RunQueries queries;

    WorkflowStep(RunService runs, RunQueries queries) {
        this.runs = runs;
        this.queries = queries;
    }

    @Override
    public WorkflowSpec.Kind kind() {
        return WorkflowSpec.Kind.WORKFLOW;
    }

    @Override
    public Outcome run(Execution e) {
        Claim claim = e.claim();
        WorkflowSpec.SubWorkflow sub = e.step().workflow();
        String at = "steps." + e.step().id() + ".workflow";
        JsonNode input;
        try {
            input = Expressions.renderFields(sub.input(), e.scope());
        } catch (Expressions.EvaluationException x) {
            return new Outcome.Failed(FailureKind.FATAL, at + ".input: " + x.getMessage(), 0, 0);
        }
        String namespace = claim.run().namespace();
        RunStore.View child;
        try {
            RunStore.Started started =
                    runs.startChild(
                            namespace,
                            sub.name(),
                            input,
                            claim.idempotencyKey(),
                            new RunStore.Parent(
                                    claim.runId(),
                                    claim.stepId(),
                                    claim.item() < 0 ? null : claim.item(),
                                    claim.run().budgetScope()));
            child = queries.get(started.id());
        } catch (ProblemException x) {
            Problem p = x.problem();
            StringBuilder why = new StringBuilder(p.detail() == null ? p.title() : p.detail());
            p.errors()
                    .forEach(
                            f ->
                                    why.append("; ")
                                            .append(f.field())
                                            .append(": ")
                                            .append(f.message()));
            return new Outcome.Failed(
                    p.status() >= 500 ? FailureKind.RETRYABLE : FailureKind.FATAL,
                    at
                            + ": the child run of "
                            + namespace
                            + "/"
                            + sub.name()
                            + " could not start: "
                            + why,
                    0,
                    0);
        } catch (SQLException x) {
            throw new IllegalStateException("starting the child run failed: " + x.getMessage(), x);
        }
        if (child.status() == RunStatus.RUNNING) {
            return new Outcome.Waiting(Instant.now().plus(RECHECK));
        }
        if (child.status() == RunStatus.SUCCEEDED) {
            return new Outcome.Succeeded(child.output(), child.tokens(), child.costUsd());
        }
        return new Outcome.Failed(
                FailureKind.FATAL,
                "the child run "
                        + child.id()
                        + " of "
                        + child.workflow()
                        + " "
                        + child.status().db()
                        + (child.reason() == null ? "" : ": " + child.reason()),
                child.tokens(),
                child.costUsd());
    }
}
