package io.flotilla.executor.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.flotilla.common.workflow.Expressions;
import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.common.workflow.WorkflowSpec.Step;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Moves a run's DAG forward inside a {@link RunTx}: joins finished foreach fan-outs, releases
 * queued foreach items up to {@code maxParallel}, makes steps whose needs are met ready (or skips
 * them when {@code when} is false, or fans them out), and ends the run when every step has ended.
 */
final class Advance {

    static final Set<String> DONE = Set.of("succeeded", "skipped");
    static final Set<String> ENDED = Set.of("succeeded", "skipped", "failed", "cancelled");

    /** A step row as the DAG sees it (outputs are read only when an expression needs them). */
    record Row(String stepId, int item, String status) {}

    private final RunTx tx;
    private final WorkflowSpec spec;
    private final Supplier<JsonNode> input;
    private Map<String, JsonNode> outputs;
    private final Map<String, Row> top = new LinkedHashMap<>();
    private final Map<String, List<Row>> items = new HashMap<>();
    private final List<String> readySteps = new ArrayList<>();
    private final List<Integer> readyItems = new ArrayList<>();

    private Advance(RunTx tx, WorkflowSpec spec, Supplier<JsonNode> input) {
        this.tx = tx;
        this.spec = spec;
        this.input = input;
    }

    /**
     * Advances the run; the caller holds the run row's lock and has checked that the run is
     * running. The input is parsed, and outputs read, only if a {@code when} or {@code foreach}
     * needs them.
     */
    static void run(RunTx tx, WorkflowSpec spec, Supplier<JsonNode> input) throws SQLException {
        Advance a = new Advance(tx, spec, input);
        a.load();
        a.advance();
    }

    private void load() throws SQLException {
        try (PreparedStatement ps =
                tx.conn.prepareStatement(
                        "SELECT step_id, item, status FROM executor.steps WHERE run_id = ? ORDER BY step_id, item")) {
            ps.setObject(1, tx.runId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    Row row = new Row(rs.getString(1), rs.getInt(2), rs.getString(3));
                    if (row.item() < 0) {
                        top.put(row.stepId(), row);
                    } else {
                        items.computeIfAbsent(row.stepId(), k -> new ArrayList<>()).add(row);
                    }
                }
            }
        }
    }

    private void advance() throws SQLException {
        for (Step s : spec.steps()) {
            if (top.get(s.id()).status().equals("fanout")) {
                join(s);
            }
        }
        boolean changed = true;
        while (changed) {
            changed = false;
            for (Step s : spec.steps()) {
                Row row = top.get(s.id());
                if (row.status().equals("waiting")
                        && s.needs().stream().allMatch(n -> DONE.contains(top.get(n).status()))) {
                    if (!start(s)) {
                        return; // the run failed
                    }
                    changed = true;
                }
            }
        }
        flushReady();
        if (top.values().stream().allMatch(r -> ENDED.contains(r.status()))) {
            succeed();
        }
    }

    /** Starts a step whose needs are met; false when evaluating it failed the run. */
    private boolean start(Step s) throws SQLException {
        try {
            if (s.when() != null && !Expressions.test(s.when(), scope())) {
                set(s.id(), "skipped");
                tx.update(
                        "UPDATE executor.steps SET status = 'skipped', finished_at = now() WHERE run_id = ? AND step_id = ? AND item = -1",
                        tx.runId,
                        s.id());
                tx.event(
                        "step.skipped",
                        s.id(),
                        null,
                        JsonNodeFactory.instance.objectNode().put("when", s.when()));
                return true;
            }
            if (s.foreach() != null) {
                return fanOut(s, Expressions.evaluate(s.foreach(), scope()));
            }
        } catch (Expressions.EvaluationException e) {
            Failure.failStep(
                    tx,
                    s.id(),
                    -1,
                    "steps."
                            + s.id()
                            + (s.when() != null ? ".when" : ".foreach")
                            + ": "
                            + e.getMessage());
            return false;
        }
        set(s.id(), "ready");
        ready(s.id(), -1);
        return true;
    }

    private boolean fanOut(Step s, JsonNode list) throws SQLException {
        if (!list.isArray()) {
            Failure.failStep(
                    tx,
                    s.id(),
                    -1,
                    "steps."
                            + s.id()
                            + ".foreach: '"
                            + s.foreach()
                            + "' must give a list, but gave "
                            + abbreviate(list));
            return false;
        }
        if (list.isEmpty()) {
            set(s.id(), "succeeded");
            tx.update(
                    "UPDATE executor.steps SET status = 'succeeded', output = '[]'::jsonb, finished_at = now() "
                            + "WHERE run_id = ? AND step_id = ? AND item = -1",
                    tx.runId,
                    s.id());
            tx.event(
                    "step.succeeded",
                    s.id(),
                    null,
                    JsonNodeFactory.instance.objectNode().put("items", 0));
            return true;
        }
        int parallel = s.maxParallel() == null ? list.size() : s.maxParallel();
        try (PreparedStatement ps =
                tx.conn.prepareStatement(
                        "INSERT INTO executor.steps (run_id, step_id, item, status, item_value, ready_at) "
                                + "VALUES (?, ?, ?, ?, ?::jsonb, CASE WHEN ? THEN clock_timestamp() END)")) {
            for (int i = 0; i < list.size(); i++) {
                boolean now = i < parallel;
                ps.setObject(1, tx.runId);
                ps.setString(2, s.id());
                ps.setInt(3, i);
                ps.setString(4, now ? "ready" : "waiting");
                ps.setString(5, list.get(i).toString());
                ps.setBoolean(6, now);
                ps.addBatch();
            }
            ps.executeBatch();
        }
        tx.madeReady = true;
        set(s.id(), "fanout");
        tx.update(
                "UPDATE executor.steps SET status = 'fanout', started_at = now() WHERE run_id = ? AND step_id = ? AND item = -1",
                tx.runId,
                s.id());
        tx.event(
                "step.fanout",
                s.id(),
                null,
                JsonNodeFactory.instance
                        .objectNode()
                        .put("items", list.size())
                        .put("maxParallel", parallel));
        return true;
    }

    /**
     * A fan-out ends when all its items succeeded (its output: their outputs, in order); else more
     * items may start.
     */
    private void join(Step s) throws SQLException {
        List<Row> rows = items.getOrDefault(s.id(), List.of());
        if (rows.stream().allMatch(r -> r.status().equals("succeeded"))) {
            set(s.id(), "succeeded");
            tx.update(
                    "UPDATE executor.steps p SET status = 'succeeded', finished_at = now(), output = j.output, tokens = j.tokens, cost_usd = j.cost "
                            + "FROM (SELECT jsonb_agg(coalesce(output, 'null'::jsonb) ORDER BY item) AS output, sum(tokens) AS tokens, sum(cost_usd) AS cost "
                            + "FROM executor.steps WHERE run_id = ? AND step_id = ? AND item >= 0) j WHERE p.run_id = ? AND p.step_id = ? AND p.item = -1",
                    tx.runId,
                    s.id(),
                    tx.runId,
                    s.id());
            tx.event(
                    "step.succeeded",
                    s.id(),
                    null,
                    JsonNodeFactory.instance.objectNode().put("items", rows.size()));
            return;
        }
        long active =
                rows.stream()
                        .filter(r -> r.status().equals("ready") || r.status().equals("running"))
                        .count();
        int parallel = s.maxParallel() == null ? rows.size() : s.maxParallel();
        for (Row r : rows) {
            if (active >= parallel) {
                break;
            }
            if (r.status().equals("waiting")) {
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
        try (PreparedStatement ps =
                tx.conn.prepareStatement(
                        "UPDATE executor.steps s SET status = 'ready', ready_at = clock_timestamp() "
                                + "FROM unnest(?::text[], ?::int[]) AS r(step_id, item) WHERE s.run_id = ? AND s.step_id = r.step_id AND s.item = r.item")) {
            ps.setArray(1, tx.conn.createArrayOf("text", readySteps.toArray()));
            ps.setArray(2, tx.conn.createArrayOf("int4", readyItems.toArray()));
            ps.setObject(3, tx.runId);
            ps.executeUpdate();
        }
        tx.madeReady = true;
    }

    /**
     * Every step ended: the run's output is its last step's output, or an object of the outputs of
     * its last steps.
     */
    private void succeed() throws SQLException {
        Set<String> needed = new HashSet<>();
        spec.steps().forEach(s -> needed.addAll(s.needs()));
        Object[] sinks =
                spec.steps().stream().map(Step::id).filter(id -> !needed.contains(id)).toArray();
        try (PreparedStatement ps =
                tx.conn.prepareStatement(
                        "UPDATE executor.runs SET status = 'succeeded', finished_at = now(), output = "
                                + "(SELECT CASE WHEN count(*) = 1 THEN min(coalesce(output, 'null'::jsonb)::text)::jsonb "
                                + "ELSE jsonb_object_agg(step_id, coalesce(output, 'null'::jsonb)) END "
                                + "FROM executor.steps WHERE run_id = ? AND item = -1 AND step_id = ANY (?)) WHERE id = ?")) {
            ps.setObject(1, tx.runId);
            ps.setArray(2, tx.conn.createArrayOf("text", sinks));
            ps.setObject(3, tx.runId);
            ps.executeUpdate();
        }
        tx.ended = "succeeded";
        tx.event("run.succeeded", null, null, null);
    }

    /**
     * What a condition sees: the input and the outputs of finished steps, read once per advance
     * (again after it changed them).
     */
    private Expressions.Scope scope() throws SQLException {
        if (outputs == null) {
            outputs = RunTx.finishedOutputs(tx.conn, tx.runId);
        }
        return new Expressions.Scope(input.get(), outputs, null);
    }

    private void set(String stepId, String status) {
        top.put(stepId, new Row(stepId, -1, status));
        if (DONE.contains(status)) {
            outputs = null;
        }
    }

    static String abbreviate(JsonNode value) {
        String s = String.valueOf(value);
        return s.length() > 120 ? s.substring(0, 120) + "..." : s;
    }
}
