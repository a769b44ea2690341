package io.flotilla.executor.engine;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.common.workflow.Expressions;
import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.executor.ExecutorConfig;
import io.flotilla.executor.step.Claim;
import io.flotilla.executor.step.FailureKind;
import io.flotilla.executor.step.RunStatus;
import io.flotilla.executor.step.StepStatus;
import io.flotilla.executor.store.EventStore;
import io.flotilla.executor.store.RunStore;
import io.flotilla.executor.store.StepStore;
import io.flotilla.executor.workflow.Specs;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * Committing a step execution: its output, tokens and cost in one transaction that checks the
 * fencing epoch — so a step reclaimed from a presumed-dead pod is committed once — then, holding
 * the run's lock, the run's totals and the next steps of its DAG.
 */
@ApplicationScoped
public class Checkpoints {

    private static final Logger LOG = Logger.getLogger(Checkpoints.class);

    /** What a step execution sees: the run's input, the spec, the outputs of finished steps. */
    public record Context(
            RunStatus status,
            JsonNode input,
            WorkflowSpec spec,
            WorkflowSpec.Step step,
            Map<String, JsonNode> outputs,
            boolean budgetScope,
            String traceParent) {}

    private final DataSource ds;
    private final ExecutorConfig config;
    private final MeterRegistry meters;
    private final Wakeups wakeups;
    private final RunTx.Tables tables;

    Checkpoints(
            DataSource ds,
            ExecutorConfig config,
            MeterRegistry meters,
            Wakeups wakeups,
            StepStore steps,
            RunStore runs,
            EventStore events,
            Specs specs,
            ObjectMapper json) {
        this.ds = ds;
        this.config = config;
        this.meters = meters;
        this.wakeups = wakeups;
        this.tables = new RunTx.Tables(steps, runs, events, specs, json);
    }

    /** A transaction on {@code runId} over {@code conn}, which the caller commits. */
    RunTx tx(Connection conn, UUID runId) {
        return new RunTx(conn, runId, tables);
    }

    /** Counts a run transition of this pod ({@code flotilla_executor_runs_total{status}}). */
    void count(String status) {
        meters.counter("flotilla.executor.runs", "status", status).increment();
    }

    void ended(RunTx tx) {
        if (tx.ended != null) {
            count(tx.ended.db());
            LOG.infof("run %s %s%s", tx.runId, tx.ended, tx.reason == null ? "" : ": " + tx.reason);
            if (tx.ended != RunStatus.SUCCEEDED) {
                cancelChildren(tx.runId, tx.ended);
            }
        }
    }

    /**
     * A run that failed or was cancelled cancels its running child runs (each cancels its own in
     * turn). After the parent's commit, one transaction per child: a child's end locks the child
     * run and then its parent's step, so the parent's own transaction must not lock children.
     */
    private void cancelChildren(UUID parent, RunStatus status) {
        try {
            List<UUID> children;
            try (Connection c = ds.getConnection()) {
                children = tables.runs().runningChildren(c, parent);
            }
            for (UUID child : children) {
                inRun(
                        child,
                        tx -> {
                            RunTx.LockedRun run = tx.lockRun(0, 0);
                            if (run != null && run.running()) {
                                Failure.end(
                                        tx,
                                        RunStatus.CANCELLED,
                                        "its parent run " + parent + " " + status.db());
                            }
                            return null;
                        });
            }
        } catch (SQLException | RuntimeException e) {
            LOG.warnf(e, "cancelling the child runs of run %s failed: %s", parent, e);
        }
    }

    /**
     * What the step needs to run: the claim brought the run; finished outputs are read only if the
     * step has needs (they never change).
     */
    public Context context(Claim claim) throws SQLException {
        Claim.Run run = claim.run();
        WorkflowSpec spec = tables.specs().cached(run.namespace(), run.workflow(), run.revision());
        Map<String, JsonNode> outputs = Map.of();
        if (spec == null || !step(spec, claim.stepId()).needs().isEmpty()) {
            try (Connection c = ds.getConnection()) {
                if (spec == null) {
                    spec = tables.specs().of(c, run.namespace(), run.workflow(), run.revision());
                }
                if (!step(spec, claim.stepId()).needs().isEmpty()) {
                    outputs = tables.steps().finishedOutputs(c, claim.runId());
                }
            }
        }
        try {
            return new Context(
                    run.status(),
                    tables.json().readTree(run.input()),
                    spec,
                    step(spec, claim.stepId()),
                    outputs,
                    run.budgetScope(),
                    run.traceParent());
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Commits a successful execution; false when the claim was fenced off (another pod owns the
     * step now). A loop step that has not met its {@code until} is made ready for its next
     * iteration.
     */
    public boolean succeed(Claim claim, Context ctx, JsonNode output, long tokens, double cost)
            throws SQLException {
        WorkflowSpec.Step step = ctx.step();
        ObjectNode data =
                JsonNodeFactory.instance
                        .objectNode()
                        .put("attempt", claim.attempt())
                        .put("tokens", tokens)
                        .put("costUsd", cost);
        boolean again = false;
        if (claim.item() < 0 && step.loop() != null) {
            Map<String, JsonNode> outputs = new HashMap<>(ctx.outputs());
            outputs.put(step.id(), output);
            boolean until =
                    Expressions.test(
                            step.loop().until(), new Expressions.Scope(ctx.input(), outputs, null));
            int done = claim.iteration() + 1;
            again = !until && done < step.loop().maxIterations();
            data.put("iterations", done).put("until", until);
        }
        StepStore.Transition t =
                again
                        ? new StepStore.Transition(
                                StepStatus.READY, output, null, true, 0, 0, "step.iteration", data)
                        : new StepStore.Transition(
                                StepStatus.SUCCEEDED,
                                output,
                                null,
                                false,
                                claim.failures(),
                                0,
                                "step.succeeded",
                                data);
        return commit(claim, t, tokens, cost, (tx, run) -> Advance.run(tx, run.spec()));
    }

    /**
     * A step's {@code when} and {@code foreach}, evaluated by the worker that claimed it before its
     * first attempt, holding no lock: a false {@code when} skips it, a {@code foreach} fans it out
     * (an empty list succeeds at once). Null when the step is to run; else what was committed
     * ({@code skipped}, {@code fanout}, {@code succeeded}, {@code failed}) or {@code fenced}.
     */
    public String gate(Claim claim, Context ctx) throws SQLException {
        WorkflowSpec.Step step = ctx.step();
        if (claim.item() >= 0
                || claim.iteration() > 0
                || claim.failures() > 0
                || (step.when() == null && step.foreach() == null)) {
            return null;
        }
        Expressions.Scope scope = new Expressions.Scope(ctx.input(), ctx.outputs(), null);
        String at = "steps." + step.id() + (step.when() != null ? ".when" : ".foreach");
        try {
            if (step.when() != null && !Expressions.test(step.when(), scope)) {
                var data = JsonNodeFactory.instance.objectNode().put("when", step.when());
                return decided(
                        claim,
                        new StepStore.Transition(
                                StepStatus.SKIPPED, null, null, false, 0, 0, "step.skipped", data),
                        (tx, run) -> Advance.run(tx, run.spec()),
                        "skipped");
            }
            if (step.foreach() == null) {
                return null;
            }
            at = "steps." + step.id() + ".foreach";
            JsonNode list = Expressions.evaluate(step.foreach(), scope);
            String refused =
                    !list.isArray()
                            ? "'"
                                    + step.foreach()
                                    + "' must give a list, but gave "
                                    + Advance.abbreviate(list)
                            : list.size() > config.limits().foreachItems()
                                    ? "gave "
                                            + list.size()
                                            + " items; a foreach fans out to at most "
                                            + config.limits().foreachItems()
                                            + " (flotilla.executor.limits.foreach-items)"
                                    : null;
            if (refused != null) {
                return failed(claim, ctx, FailureKind.FATAL, at + ": " + refused, 0, 0);
            }
            if (list.isEmpty()) {
                var data = JsonNodeFactory.instance.objectNode().put("items", 0);
                return decided(
                        claim,
                        new StepStore.Transition(
                                StepStatus.SUCCEEDED,
                                JsonNodeFactory.instance.arrayNode(),
                                null,
                                false,
                                0,
                                0,
                                "step.succeeded",
                                data),
                        (tx, run) -> Advance.run(tx, run.spec()),
                        "succeeded");
            }
            int parallel = step.maxParallel() == null ? list.size() : step.maxParallel();
            var data =
                    JsonNodeFactory.instance
                            .objectNode()
                            .put("items", list.size())
                            .put("maxParallel", parallel);
            return decided(
                    claim,
                    new StepStore.Transition(
                            StepStatus.FANOUT, null, null, false, 0, 0, "step.fanout", data),
                    (tx, run) -> {
                        tx.steps.fanOut(tx.conn, claim.runId(), step.id(), list, parallel);
                        tx.madeReady = true;
                    },
                    "fanout");
        } catch (Expressions.EvaluationException e) {
            return failed(claim, ctx, FailureKind.FATAL, at + ": " + e.getMessage(), 0, 0);
        }
    }

    private String decided(Claim claim, StepStore.Transition t, Then then, String outcome)
            throws SQLException {
        return committed(commit(claim, t, 0, 0, then), outcome);
    }

    /**
     * Hands a step back without finishing it, held by no executor and out of the claim queue:
     * {@code sleeping} until {@code until} (a timer), or {@code awaiting_approval} until a decision
     * (the runs API makes it ready) or its timeout {@code until} (null: none). Due steps are made
     * ready by {@code Leases.wake}; a restart loses nothing: the time is in the step's row. False
     * when fenced off.
     */
    public boolean handBack(Claim claim, StepStatus status, Instant until) throws SQLException {
        ObjectNode data = JsonNodeFactory.instance.objectNode().put("attempt", claim.attempt());
        long delay = -1; // no time: only a decision makes it ready
        if (until != null) {
            data.put("until", until.toString());
            delay = Math.max(0, Duration.between(Instant.now(), until).toMillis());
        }
        String event = status == StepStatus.SLEEPING ? "step.waiting" : "step." + status.db();
        return commit(
                claim,
                new StepStore.Transition(
                        status, null, null, false, claim.failures(), delay, event, data),
                0,
                0,
                (tx, run) -> {});
    }

    /** {@link #fail}, answered as the outcome: {@code failed}, or {@code fenced}. */
    public String failed(
            Claim claim, Context ctx, FailureKind kind, String error, long tokens, double cost)
            throws SQLException {
        return committed(fail(claim, ctx, kind, error, tokens, cost), "failed");
    }

    /** The outcome, or {@code fenced} when the commit was fenced off. */
    static String committed(boolean committed, String outcome) {
        return committed ? outcome : "fenced";
    }

    /**
     * Commits a failed execution: a retry after a backoff, or the end of the run. False when fenced
     * off.
     */
    public boolean fail(
            Claim claim, Context ctx, FailureKind kind, String error, long tokens, double cost)
            throws SQLException {
        int failures = claim.failures() + 1;
        boolean retry =
                kind == FailureKind.RETRYABLE
                        && ctx != null
                        && failures <= retries(ctx.spec(), ctx.step());
        ObjectNode data =
                JsonNodeFactory.instance
                        .objectNode()
                        .put("attempt", claim.attempt())
                        .put("error", error);
        long delay = retry ? backoff(failures) : 0;
        StepStore.Transition t =
                retry
                        ? new StepStore.Transition(
                                StepStatus.READY,
                                null,
                                error,
                                false,
                                failures,
                                delay,
                                "step.retrying",
                                data.put("retryInMs", delay))
                        : new StepStore.Transition(
                                StepStatus.FAILED,
                                null,
                                error,
                                false,
                                failures,
                                0,
                                "step.failed",
                                data);
        String reason =
                kind == FailureKind.BUDGET
                        ? "budget exhausted at step " + claim.name() + ": " + error
                        : "step "
                                + claim.name()
                                + " failed"
                                + (kind == FailureKind.RETRYABLE
                                        ? " after " + failures + " attempts"
                                        : "")
                                + ": "
                                + error;
        return commit(
                claim,
                t,
                tokens,
                cost,
                (tx, run) -> {
                    if (claim.item() >= 0) {
                        tx.steps.fail(tx.conn, claim.runId(), claim.stepId(), -1, error);
                    }
                    Failure.end(tx, RunStatus.FAILED, reason);
                });
    }

    /** What a commit does next when its step finished for good and its run is still running. */
    private interface Then {
        void apply(RunTx tx, RunTx.LockedRun run) throws SQLException;
    }

    /**
     * The commit of an execution: the fenced transition, then under the run lock the run's totals,
     * and — unless the run ended meanwhile (the step ends cancelled) or the step goes round again
     * (a retry or the next loop iteration) — {@code then}. False when fenced off.
     */
    private boolean commit(Claim claim, StepStore.Transition t, long tokens, double cost, Then then)
            throws SQLException {
        return Boolean.TRUE.equals(
                inRun(
                        claim.runId(),
                        tx -> {
                            StepStatus status = tx.steps.commit(tx.conn, claim, t, tokens, cost);
                            if (status == null) {
                                return false;
                            }
                            RunTx.LockedRun run = tx.lockRun(tokens, cost);
                            if (status == StepStatus.CANCELLED) {
                                return true;
                            }
                            if (!run.running()) {
                                cancelled(tx, claim);
                            } else if (status == StepStatus.READY) {
                                tx.madeReady = true;
                            } else {
                                then.apply(tx, run);
                            }
                            return true;
                        }));
    }

    private long backoff(int failures) {
        long base = config.retryBackoff().toMillis() << Math.min(failures - 1, 16);
        long capped = Math.min(base, Duration.ofSeconds(30).toMillis());
        return capped / 2 + ThreadLocalRandom.current().nextLong(capped / 2 + 1);
    }

    static int retries(WorkflowSpec spec, WorkflowSpec.Step step) {
        if (step.retries() != null && step.retries().max() != null) {
            return step.retries().max();
        }
        if (spec.defaults() != null
                && spec.defaults().retries() != null
                && spec.defaults().retries().max() != null) {
            return spec.defaults().retries().max();
        }
        return 0;
    }

    /** The run ended while the step ran: the step ends as cancelled (what it spent is kept). */
    private static void cancelled(RunTx tx, Claim claim) throws SQLException {
        tx.steps.cancel(tx.conn, claim.runId(), claim.stepId(), claim.item());
        tx.event("step.cancelled", claim.stepId(), claim.item() < 0 ? null : claim.item(), null);
    }

    private static WorkflowSpec.Step step(WorkflowSpec spec, String id) {
        return spec.steps().stream().filter(s -> s.id().equals(id)).findFirst().orElseThrow();
    }

    interface RunWork<T> {
        T apply(RunTx tx) throws SQLException;
    }

    /**
     * Runs work in one transaction on one run; run endings are counted and wake-ups announced after
     * the commit.
     */
    <T> T inRun(UUID runId, RunWork<T> work) throws SQLException {
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try {
                RunTx tx = tx(c, runId);
                T result = work.apply(tx);
                c.commit();
                ended(tx);
                wakeups.announce(runId, tx.madeReady);
                return result;
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
    }
}
