package io.flotilla.executor.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.common.workflow.WorkflowSpec.Step;
import io.flotilla.executor.step.RunStatus;
import io.flotilla.executor.step.StepStatus;
import io.flotilla.executor.store.StepStore.Status;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Moves a run's DAG forward inside a {@link RunTx}: joins finished foreach fan-outs, releases
 * queued foreach items up to {@code maxParallel}, makes steps whose needs are met ready, and ends
 * the run when every step has ended. It evaluates no expression: it runs holding the run's lock.
 */
final class Advance {

    private final RunTx tx;
    private final WorkflowSpec spec;
    private final Map<String, Status> top = new LinkedHashMap<>();
    private final Map<String, List<Status>> items = new HashMap<>();
    private final List<String> readySteps = new ArrayList<>();
    private final List<Integer> readyItems = new ArrayList<>();

    private Advance(RunTx tx, WorkflowSpec spec) {
        this.tx = tx;
        this.spec = spec;
    }

    /**
     * Advances the run; the caller holds the run row's lock and has checked that the run is
     * running.
     */
    static void run(RunTx tx, WorkflowSpec spec) throws SQLException {
        Advance a = new Advance(tx, spec);
        a.load();
        a.advance();
    }

    private void load() throws SQLException {
        for (Status row : tx.steps.statuses(tx.conn, tx.runId)) {
            if (row.item() < 0) {
                top.put(row.stepId(), row);
            } else {
                items.computeIfAbsent(row.stepId(), k -> new ArrayList<>()).add(row);
            }
        }
    }

    private void advance() throws SQLException {
        for (Step s : spec.steps()) {
            if (top.get(s.id()).status() == StepStatus.FANOUT) {
                join(s);
            }
        }
        boolean changed = true;
        while (changed) {
            changed = false;
            for (Step s : spec.steps()) {
                Status row = top.get(s.id());
                if (row.status() == StepStatus.WAITING
                        && s.needs().stream().allMatch(n -> top.get(n).status().done())) {
                    start(s);
                    changed = true;
                }
            }
        }
        flushReady();
        if (top.values().stream().allMatch(r -> r.status().ended())) {
            succeed();
        }
    }

    /**
     * Starts a step whose needs are met: it becomes ready. Its {@code when} and {@code foreach} are
     * evaluated by the worker that claims it, holding no lock ({@code Checkpoints.gate}).
     */
    private void start(Step s) {
        set(s.id(), StepStatus.READY);
        ready(s.id(), -1);
    }

    /**
     * A fan-out ends when all its items succeeded (its output: their outputs, in order); else more
     * items may start.
     */
    private void join(Step s) throws SQLException {
        List<Status> rows = items.getOrDefault(s.id(), List.of());
        if (rows.stream().allMatch(r -> r.status() == StepStatus.SUCCEEDED)) {
            set(s.id(), StepStatus.SUCCEEDED);
            tx.steps.join(tx.conn, tx.runId, s.id());
            tx.event(
                    "step.succeeded",
                    s.id(),
                    null,
                    JsonNodeFactory.instance.objectNode().put("items", rows.size()));
            return;
        }
        long active = rows.stream().filter(r -> r.status().active()).count();
        int parallel = s.maxParallel() == null ? rows.size() : s.maxParallel();
        for (Status r : rows) {
            if (active >= parallel) {
                break;
            }
            if (r.status() == StepStatus.WAITING) {
                ready(s.id(), r.item());
                active++;
            }
        }
    }

    private void ready(String stepId, int item) {
        readySteps.add(stepId);
        readyItems.add(item);
    }

    /** All steps this advance made ready, in one statement. */
    private void flushReady() throws SQLException {
        if (readySteps.isEmpty()) {
            return;
        }
        tx.steps.makeReady(tx.conn, tx.runId, readySteps, readyItems);
        tx.madeReady = true;
    }

    /**
     * Every step ended: the run's output is its last step's output, or an object of the outputs of
     * its last steps.
     */
    private void succeed() throws SQLException {
        Set<String> needed = new HashSet<>();
        spec.steps().forEach(s -> needed.addAll(s.needs()));
        List<String> sinks =
                spec.steps().stream().map(Step::id).filter(id -> !needed.contains(id)).toList();
        tx.runs.succeed(tx.conn, tx.runId, sinks);
        tx.steps.wakeParent(tx.conn, tx.runId);
        tx.ended = RunStatus.SUCCEEDED;
        tx.event("run.succeeded", null, null, null);
    }

    private void set(String stepId, StepStatus status) {
        top.put(stepId, new Status(stepId, -1, status));
    }

    static String abbreviate(JsonNode value) {
        String s = String.valueOf(value);
        return s.length() > 120 ? s.substring(0, 120) + "..." : s;
    }
}
