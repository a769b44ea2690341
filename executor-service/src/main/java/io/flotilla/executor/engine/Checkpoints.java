package io.flotilla.executor.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.flotilla.common.workflow.Expressions;
import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.executor.ExecutorConfig;
import io.micrometer.core.instrument.MeterRegistry;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ThreadLocalRandom;
import javax.sql.DataSource;
import org.jboss.logging.Logger;

/**
 * The engine's durable state transitions: claiming ready (or abandoned) steps, renewing leases, and
 * committing a step's result — output, tokens and cost in one transaction that checks the fencing
 * epoch, so a step reclaimed from a presumed-dead pod is committed once.
 */
@ApplicationScoped
public class Checkpoints {

    private static final Logger LOG = Logger.getLogger(Checkpoints.class);

    /** How a failed execution ends. */
    public enum FailureKind { RETRYABLE, FATAL, BUDGET }

    /** What a step execution sees: the run's input, the spec, the outputs of finished steps. */
    public record Context(String status, String namespace, String workflow, JsonNode input, WorkflowSpec spec, WorkflowSpec.Step step,
            Map<String, JsonNode> outputs, boolean budgetScope, String traceParent) {
    }

    private final DataSource ds;
    private final ExecutorConfig config;
    private final MeterRegistry meters;

    Checkpoints(DataSource ds, ExecutorConfig config, MeterRegistry meters) {
        this.ds = ds;
        this.config = config;
        this.meters = meters;
    }

    private void ended(RunTx tx) {
        if (tx.ended != null) {
            count(tx.ended);
            LOG.infof("run %s %s%s", tx.runId, tx.ended, tx.reason == null ? "" : ": " + tx.reason);
        }
    }

    /** Counts a run transition of this pod ({@code flotilla_executor_runs_total{status}}). */
    public void count(String status) {
        meters.counter("flotilla.executor.runs", "status", status).increment();
    }

    /** A new run as stored: its id and status, and whether an earlier request with the same idempotency key made it. */
    public record Started(UUID id, String status, String requestHash, boolean replayed) {
    }

    /**
     * Stores a new run with its steps and makes its first steps ready, in one transaction; with an
     * idempotency key that is already taken, answers the run it names instead.
     */
    public Started start(UUID id, String namespace, String workflow, String revision, WorkflowSpec spec, JsonNode input, JsonNode budget,
            String idempotencyKey, String requestHash, String traceParent) throws SQLException {
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try {
                RunTx tx = new RunTx(c, id);
                int inserted = tx.update("INSERT INTO executor.runs (id, namespace, workflow, revision, input, status, budget, idempotency_key, "
                        + "request_hash, trace_parent) VALUES (?, ?, ?, ?, ?::jsonb, 'running', ?::jsonb, ?, ?, ?) "
                        + "ON CONFLICT (idempotency_key) DO NOTHING",
                        id, namespace, workflow, revision, input.toString(), RunTx.json(budget), idempotencyKey, requestHash, traceParent);
                if (inserted == 0) {
                    c.rollback();
                    return byKey(c, idempotencyKey);
                }
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO executor.steps (run_id, step_id, status) VALUES (?, ?, 'waiting')")) {
                    for (WorkflowSpec.Step step : spec.steps()) {
                        ps.setObject(1, id);
                        ps.setString(2, step.id());
                        ps.addBatch();
                    }
                    ps.executeBatch();
                }
                tx.event("run.started", null, null, JsonNodeFactory.instance.objectNode().put("workflow", namespace + "/" + workflow)
                        .put("revision", revision));
                Advance.run(tx, spec, input);
                tx.notifyListeners();
                c.commit();
                count("started");
                ended(tx);
                return new Started(id, tx.ended == null ? "running" : tx.ended, requestHash, false);
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
    }

    /** The run an idempotency key names, or null. */
    public Started byKey(String idempotencyKey) throws SQLException {
        try (Connection c = ds.getConnection()) {
            return byKey(c, idempotencyKey);
        }
    }

    private static Started byKey(Connection c, String key) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT id, status, request_hash FROM executor.runs WHERE idempotency_key = ?")) {
            ps.setString(1, key);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new Started((UUID) rs.getObject(1), rs.getString(2), rs.getString(3), true) : null;
            }
        }
    }

    /** Cancels a running run: steps not started are cancelled now, steps in flight when they return. Null when there is no such run. */
    public String cancel(UUID runId) throws SQLException {
        return inRun(runId, (tx, run) -> {
            if (run.running()) {
                Failure.end(tx, "cancelled", "cancelled by request");
                return "cancelled";
            }
            return run.status();
        });
    }

    /** Claims up to {@code limit} ready steps, and running ones whose lease expired, for {@code owner}. */
    public List<Claim> claim(String owner, int limit) throws SQLException {
        List<Claim> claims = new ArrayList<>();
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement("""
                UPDATE executor.steps s SET status = 'running', attempt = s.attempt + 1, epoch = s.epoch + 1, lease_owner = ?,
                       lease_expires_at = now() + make_interval(secs => ?), started_at = coalesce(s.started_at, now()), not_before = NULL
                  FROM (SELECT run_id, step_id, item, status AS was, lease_expires_at AS expired FROM executor.steps
                         WHERE (status = 'ready' AND (not_before IS NULL OR not_before <= now()))
                            OR (status = 'running' AND lease_expires_at < now())
                         ORDER BY ready_at LIMIT ? FOR UPDATE SKIP LOCKED) c
                 WHERE s.run_id = c.run_id AND s.step_id = c.step_id AND s.item = c.item
             RETURNING s.run_id, s.step_id, s.item, s.attempt, s.epoch, s.iteration, s.item_value::text,
                       CASE WHEN c.was = 'running' THEN (extract(epoch FROM clock_timestamp() - c.expired) * 1000)::bigint ELSE -1 END""")) {
            c.setAutoCommit(true);
            ps.setString(1, owner);
            ps.setDouble(2, config.lease().toMillis() / 1000.0);
            ps.setInt(3, limit);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String item = rs.getString(7);
                    claims.add(new Claim((UUID) rs.getObject(1), rs.getString(2), rs.getInt(3), rs.getInt(4), rs.getLong(5), rs.getInt(6),
                            item == null ? null : RunTx.JSON.readTree(item), rs.getLong(8)));
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return claims;
    }

    /** Extends the leases of the steps these owners run; returns how many. */
    public int renew(Collection<String> owners) throws SQLException {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement("""
                UPDATE executor.steps SET lease_expires_at = now() + make_interval(secs => ?)
                 WHERE lease_owner = ANY (?) AND status IN ('running', 'cancelling')""")) {
            ps.setDouble(1, config.lease().toMillis() / 1000.0);
            ps.setArray(2, c.createArrayOf("text", owners.toArray()));
            return ps.executeUpdate();
        }
    }

    /** Steps of ended runs whose executor died while they were in flight: nothing will return for them. */
    public int expireAbandonedCancellations() throws SQLException {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(
                "UPDATE executor.steps SET status = 'cancelled', finished_at = now() WHERE status = 'cancelling' AND lease_expires_at < now()")) {
            return ps.executeUpdate();
        }
    }

    /** Ready steps not yet claimed (a gauge). */
    public long readyDepth() throws SQLException {
        try (Connection c = ds.getConnection(); PreparedStatement ps = c.prepareStatement(
                "SELECT count(*) FROM executor.steps WHERE status = 'ready'"); ResultSet rs = ps.executeQuery()) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Reads what the step needs to run (no lock: finished outputs never change). */
    public Context context(Claim claim) throws SQLException {
        try (Connection c = ds.getConnection()) {
            String status;
            String ns;
            String wf;
            String rev;
            JsonNode input;
            boolean scope;
            String trace;
            try (PreparedStatement ps = c.prepareStatement("SELECT status, namespace, workflow, revision, input::text, budget IS NOT NULL, "
                    + "trace_parent FROM executor.runs WHERE id = ?")) {
                ps.setObject(1, claim.runId());
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    status = rs.getString(1);
                    ns = rs.getString(2);
                    wf = rs.getString(3);
                    rev = rs.getString(4);
                    input = RunTx.JSON.readTree(rs.getString(5));
                    scope = rs.getBoolean(6);
                    trace = rs.getString(7);
                }
            }
            WorkflowSpec spec = Specs.of(c, ns, wf, rev);
            Map<String, JsonNode> outputs = new HashMap<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT step_id, output::text FROM executor.steps "
                    + "WHERE run_id = ? AND item = -1 AND status IN ('succeeded', 'skipped')")) {
                ps.setObject(1, claim.runId());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        String out = rs.getString(2);
                        outputs.put(rs.getString(1), out == null ? JsonNodeFactory.instance.nullNode() : RunTx.JSON.readTree(out));
                    }
                }
            }
            WorkflowSpec.Step step = spec.steps().stream().filter(s -> s.id().equals(claim.stepId())).findFirst().orElseThrow();
            return new Context(status, ns, wf, input, spec, step, outputs, scope, trace);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Commits a successful execution; false when the claim was fenced off (another pod owns the step now). */
    public boolean succeed(Claim claim, JsonNode output, long tokens, double cost) throws SQLException {
        return Boolean.TRUE.equals(inRun(claim.runId(), (tx, run) -> {
            String was = fenced(tx, claim, tokens, cost);
            if (was == null) {
                return false;
            }
            tx.update("UPDATE executor.runs SET tokens = tokens + ?, cost_usd = cost_usd + ? WHERE id = ?", tokens, cost, claim.runId());
            if (!run.running() || was.equals("cancelling")) {
                end(tx, claim, "cancelled", null);
                return true;
            }
            WorkflowSpec.Step step = step(run.spec(), claim.stepId());
            var data = JsonNodeFactory.instance.objectNode().put("attempt", claim.attempt()).put("tokens", tokens).put("costUsd", cost);
            if (claim.item() < 0 && step.loop() != null) {
                Map<String, JsonNode> outputs = new HashMap<>(outputs(tx));
                outputs.put(step.id(), output);
                boolean until = Expressions.test(step.loop().until(), new Expressions.Scope(run.input(), outputs, null));
                int done = claim.iteration() + 1;
                if (!until && done < step.loop().maxIterations()) {
                    tx.update("UPDATE executor.steps SET status = 'ready', ready_at = clock_timestamp(), iteration = iteration + 1, failures = 0, "
                            + "output = ?::jsonb, lease_owner = NULL WHERE run_id = ? AND step_id = ? AND item = -1",
                            output.toString(), claim.runId(), claim.stepId());
                    tx.madeReady = true;
                    tx.event("step.iteration", claim.stepId(), null, data.put("iteration", done));
                    return true;
                }
                data.put("iterations", done).put("until", until);
            }
            tx.update("UPDATE executor.steps SET status = 'succeeded', output = ?::jsonb, finished_at = now(), lease_owner = NULL, error = NULL "
                    + "WHERE run_id = ? AND step_id = ? AND item = ?", output.toString(), claim.runId(), claim.stepId(), claim.item());
            tx.event("step.succeeded", claim.stepId(), claim.item() < 0 ? null : claim.item(), data);
            Advance.run(tx, run.spec(), run.input());
            return true;
        }));
    }

    /** Commits a failed execution: a retry later, or the end of the run. False when fenced off. */
    public boolean fail(Claim claim, FailureKind kind, String error, long tokens, double cost) throws SQLException {
        return Boolean.TRUE.equals(inRun(claim.runId(), (tx, run) -> {
            String was = fenced(tx, claim, tokens, cost);
            if (was == null) {
                return false;
            }
            tx.update("UPDATE executor.runs SET tokens = tokens + ?, cost_usd = cost_usd + ? WHERE id = ?", tokens, cost, claim.runId());
            if (!run.running() || was.equals("cancelling")) {
                end(tx, claim, "cancelled", error);
                return true;
            }
            WorkflowSpec.Step step = step(run.spec(), claim.stepId());
            int failures = failures(tx, claim) + 1;
            int max = retries(run.spec(), step);
            if (kind == FailureKind.RETRYABLE && failures <= max) {
                long delay = backoff(failures);
                tx.update("UPDATE executor.steps SET status = 'ready', ready_at = clock_timestamp(), failures = ?, error = ?, lease_owner = NULL, "
                        + "not_before = now() + make_interval(secs => ?) WHERE run_id = ? AND step_id = ? AND item = ?",
                        failures, error, delay / 1000.0, claim.runId(), claim.stepId(), claim.item());
                tx.madeReady = true;
                tx.event("step.retrying", claim.stepId(), claim.item() < 0 ? null : claim.item(), JsonNodeFactory.instance.objectNode()
                        .put("attempt", claim.attempt()).put("error", error).put("retryInMs", delay));
                return true;
            }
            String reason = kind == FailureKind.BUDGET
                    ? "budget exhausted at step " + claim.name() + ": " + error
                    : "step " + claim.name() + " failed" + (kind == FailureKind.RETRYABLE ? " after " + failures + " attempts" : "") + ": " + error;
            Failure.failRun(tx, claim.stepId(), claim.item(), reason);
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
        if (spec.defaults() != null && spec.defaults().retries() != null && spec.defaults().retries().max() != null) {
            return spec.defaults().retries().max();
        }
        return 0;
    }

    /** The fenced part of a commit: adds the execution's tokens and cost to the step if this claim still holds it. */
    private static String fenced(RunTx tx, Claim claim, long tokens, double cost) throws SQLException {
        try (PreparedStatement ps = tx.conn.prepareStatement("""
                UPDATE executor.steps n SET tokens = n.tokens + ?, cost_usd = n.cost_usd + ?
                  FROM executor.steps o
                 WHERE n.run_id = o.run_id AND n.step_id = o.step_id AND n.item = o.item
                   AND n.run_id = ? AND n.step_id = ? AND n.item = ? AND n.epoch = ? AND n.status IN ('running', 'cancelling')
             RETURNING o.status""")) {
            ps.setLong(1, tokens);
            ps.setDouble(2, cost);
            ps.setObject(3, claim.runId());
            ps.setString(4, claim.stepId());
            ps.setInt(5, claim.item());
            ps.setLong(6, claim.epoch());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    private static void end(RunTx tx, Claim claim, String status, String error) throws SQLException {
        tx.update("UPDATE executor.steps SET status = ?, error = ?, finished_at = now(), lease_owner = NULL "
                + "WHERE run_id = ? AND step_id = ? AND item = ?", status, error, claim.runId(), claim.stepId(), claim.item());
        tx.event("step." + status, claim.stepId(), claim.item() < 0 ? null : claim.item(), null);
    }

    private static int failures(RunTx tx, Claim claim) throws SQLException {
        try (PreparedStatement ps = tx.conn.prepareStatement("SELECT failures FROM executor.steps WHERE run_id = ? AND step_id = ? AND item = ?")) {
            ps.setObject(1, claim.runId());
            ps.setString(2, claim.stepId());
            ps.setInt(3, claim.item());
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getInt(1);
            }
        }
    }

    private static Map<String, JsonNode> outputs(RunTx tx) throws SQLException {
        Map<String, JsonNode> outputs = new HashMap<>();
        try (PreparedStatement ps = tx.conn.prepareStatement("SELECT step_id, output::text FROM executor.steps "
                + "WHERE run_id = ? AND item = -1 AND status IN ('succeeded', 'skipped')")) {
            ps.setObject(1, tx.runId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    String out = rs.getString(2);
                    outputs.put(rs.getString(1), out == null ? JsonNodeFactory.instance.nullNode() : RunTx.JSON.readTree(out));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return outputs;
    }

    private static WorkflowSpec.Step step(WorkflowSpec spec, String id) {
        return spec.steps().stream().filter(s -> s.id().equals(id)).findFirst().orElseThrow();
    }

    /** The locked run a transaction works on. */
    record LockedRun(String status, JsonNode input, WorkflowSpec spec) {
        boolean running() {
            return status.equals("running");
        }
    }

    interface RunWork<T> {
        T apply(RunTx tx, LockedRun run) throws SQLException;
    }

    /** Runs work in one transaction holding the run row's lock; wake-ups go out with the commit. */
    <T> T inRun(UUID runId, RunWork<T> work) throws SQLException {
        try (Connection c = ds.getConnection()) {
            c.setAutoCommit(false);
            try {
                RunTx tx = new RunTx(c, runId);
                LockedRun run;
                try (PreparedStatement ps = c.prepareStatement(
                        "SELECT status, input::text, namespace, workflow, revision FROM executor.runs WHERE id = ? FOR UPDATE")) {
                    ps.setObject(1, runId);
                    try (ResultSet rs = ps.executeQuery()) {
                        if (!rs.next()) {
                            c.rollback();
                            return null;
                        }
                        run = new LockedRun(rs.getString(1), RunTx.JSON.readTree(rs.getString(2)),
                                Specs.of(c, rs.getString(3), rs.getString(4), rs.getString(5)));
                    }
                }
                T result = work.apply(tx, run);
                tx.notifyListeners();
                c.commit();
                ended(tx);
                return result;
            } catch (IOException e) {
                c.rollback();
                throw new UncheckedIOException(e);
            } catch (SQLException | RuntimeException e) {
                c.rollback();
                throw e;
            }
        }
    }
}
