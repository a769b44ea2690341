package io.flotilla.executor.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.common.auth.Caller;
import io.flotilla.common.problem.NulCheck;
import io.flotilla.common.problem.Problem.FieldError;
import io.flotilla.common.problem.ProblemException;
import io.flotilla.common.secret.Secrets;
import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.executor.ExecutorConfig;
import io.flotilla.executor.engine.RunTraces;
import io.flotilla.executor.engine.Runs;
import io.flotilla.executor.step.RunStatus;
import io.flotilla.executor.step.StepStatus;
import io.flotilla.executor.store.RunStore;
import io.flotilla.executor.store.WorkflowStore;
import io.flotilla.executor.workflow.JsonSchemas;
import io.flotilla.executor.workflow.Specs;
import io.flotilla.executor.workflow.WorkflowRef;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.UUID;

/**
 * Starting and cancelling runs: the request is checked whole before anything is stored or any
 * budget opened.
 */
@ApplicationScoped
public class RunService {

    /**
     * {@code POST /api/v1/runs}: the workflow as {@code namespace/name} (namespace default when
     * omitted).
     */
    public record StartRequest(
            String workflow, JsonNode input, WorkflowSpec.Budget budget, String idempotencyKey) {}

    /** {@code POST .../steps/{step}/approve|reject}: who decides, and why. */
    public record DecisionRequest(String by, String comment) {}

    private final WorkflowStore workflows;
    private final Specs specs;
    private final JsonSchemas schemas;
    private final ObjectMapper json;
    private final Runs runs;
    private final GatewayBudgets budgets;
    private final Tracer tracer;
    private final ExecutorConfig config;
    private final RunQueries queries;

    RunService(
            ExecutorConfig config,
            WorkflowStore workflows,
            Specs specs,
            JsonSchemas schemas,
            Runs runs,
            RunQueries queries,
            GatewayBudgets budgets,
            Tracer tracer,
            ObjectMapper json) {
        this.queries = queries;
        this.workflows = workflows;
        this.specs = specs;
        this.schemas = schemas;
        this.json = json;
        this.runs = runs;
        this.budgets = budgets;
        this.tracer = tracer;
        this.config = config;
    }

    public RunStore.Started start(StartRequest r, Caller caller) throws SQLException {
        List<FieldError> errors = new ArrayList<>();
        WorkflowRef ref = WorkflowRef.parse(r.workflow());
        if (ref == null) {
            errors.add(
                    new FieldError(
                            "workflow",
                            "give the workflow as namespace/name (or name, for namespace default): "
                                    + WorkflowRef.RULE));
        }
        JsonNode input =
                r.input() == null || r.input().isNull()
                        ? JsonNodeFactory.instance.objectNode()
                        : r.input();
        if (r.budget() != null
                && (r.budget().maxTokens() == null && r.budget().maxCostUsd() == null
                        || r.budget().maxTokens() != null && r.budget().maxTokens() < 1
                        || r.budget().maxCostUsd() != null && r.budget().maxCostUsd() <= 0)) {
            errors.add(
                    new FieldError(
                            "budget",
                            "give maxTokens (at least 1) and/or maxCostUsd (more than 0)"));
        }
        String nul = NulCheck.find("input", input);
        if (nul != null) {
            errors.add(NulCheck.error(nul));
        }
        if (NulCheck.in(r.idempotencyKey())) {
            errors.add(NulCheck.error("idempotencyKey"));
        }
        int inputBytes = input.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8).length;
        if (inputBytes > config.limits().inputBytes()) {
            errors.add(
                    new FieldError(
                            "input",
                            "has "
                                    + inputBytes
                                    + " bytes of JSON; a run's input may have at most "
                                    + config.limits().inputBytes()
                                    + " (flotilla.executor.limits.input-bytes)"));
        }
        if (r.idempotencyKey() != null
                && (r.idempotencyKey().isBlank() || r.idempotencyKey().length() > 200)) {
            errors.add(new FieldError("idempotencyKey", "must be 1 to 200 characters"));
        }
        if (!errors.isEmpty()) {
            throw ProblemException.invalid(errors);
        }
        String namespace = ref.namespace();
        String name = ref.name();
        caller.require(namespace);
        // keys are the namespace's own: another namespace's key neither replays nor reveals a run
        String key = r.idempotencyKey() == null ? null : namespace + "/" + r.idempotencyKey();
        ObjectNode canonical = json.createObjectNode().put("workflow", namespace + "/" + name);
        canonical.set("input", input);
        canonical.set("budget", json.valueToTree(r.budget()));
        String hash = HexFormat.of().formatHex(Secrets.sha256(canonical.toString()));
        if (key != null) {
            RunStore.Started earlier = runs.byKey(key);
            if (earlier != null) {
                return replay(earlier, hash);
            }
        }
        return launch(namespace, name, input, r.budget(), key, hash, null);
    }

    /**
     * Starts the child run of a workflow step, in the parent's namespace; its budget scope (when
     * the child or the parent has a budget) is a child of the parent run's, so the parent's budget
     * bounds both. Idempotent by the step execution's key: a step taken over after a crash finds
     * the child its dead executor started. Fails as the API would: 404 for an unknown workflow, 400
     * for an input its schema refuses, 502/503 when the gateway cannot open the budget.
     */
    /** The deepest a child run may be: its parent's parent's ... parent, this many levels up. */
    static final int MAX_DEPTH = 5;

    public RunStore.Started startChild(
            String namespace, String name, JsonNode input, String stepKey, RunStore.Parent parent)
            throws SQLException {
        String key = "child:" + stepKey; // no namespace prefix: cannot be a caller's key
        RunStore.Started earlier = runs.byKey(key);
        if (earlier != null) {
            return earlier;
        }
        int depth = queries.depth(parent.run()) + 1;
        if (depth > MAX_DEPTH) {
            throw new ProblemException(
                    400,
                    "Too deep",
                    "sub-workflows nest at most "
                            + MAX_DEPTH
                            + " deep; this child would be at depth "
                            + depth
                            + " (does a workflow start itself?)");
        }
        String hash =
                HexFormat.of().formatHex(Secrets.sha256(namespace + "/" + name + "\n" + input));
        return launch(namespace, name, input, null, key, hash, parent);
    }

    private RunStore.Started launch(
            String namespace,
            String name,
            JsonNode input,
            WorkflowSpec.Budget asked,
            String key,
            String hash,
            RunStore.Parent parent)
            throws SQLException {
        WorkflowStore.Published published =
                workflows.current(namespace, name).await().atMost(Duration.ofSeconds(10));
        if (published == null) {
            throw new ProblemException(
                    404,
                    "Unknown workflow",
                    "no workflow "
                            + namespace
                            + "/"
                            + name
                            + "; publish it first with PUT /api/v1/workflows/"
                            + namespace
                            + "/"
                            + name);
        }
        WorkflowSpec spec =
                specs.of(namespace, name, published.revision(), () -> published.spec().encode());
        if (spec.input() != null && spec.input().schema() != null) {
            List<FieldError> problems =
                    schemas.problems(spec.input().schema(), input).stream()
                            .map(p -> new FieldError("input", p.replaceFirst("^\\$", "input")))
                            .toList();
            if (!problems.isEmpty()) {
                throw ProblemException.invalid(problems);
            }
        }
        WorkflowSpec.Budget budget = budget(asked, spec.budget());
        UUID id = UUID.randomUUID();
        Span span =
                tracer.spanBuilder("run " + namespace + "/" + name)
                        .setAttribute("flotilla.run.id", id.toString())
                        .setAttribute("flotilla.workflow.revision", published.revision())
                        .startSpan();
        try (Scope ignored = span.makeCurrent()) {
            ObjectNode scope = budget == null ? null : json.valueToTree(budget);
            if (parent != null && parent.budget()) {
                scope = scope == null ? json.createObjectNode() : scope;
                scope.put("parent", "run:" + parent.run());
            }
            if (scope != null) {
                budgets.open(id, scope);
            }
            RunStore.Started started =
                    runs.start(
                            id,
                            namespace,
                            name,
                            published.revision(),
                            spec,
                            input,
                            scope,
                            key,
                            hash,
                            RunTraces.current(),
                            parent);
            return started.replayed() ? replay(started, hash) : started;
        } finally {
            span.end();
        }
    }

    /**
     * The run's budget: the request's may lower the workflow's, never raise it (each limit the
     * workflow sets stays at most what it says).
     */
    static WorkflowSpec.Budget budget(WorkflowSpec.Budget asked, WorkflowSpec.Budget workflow) {
        if (asked == null || workflow == null) {
            return asked != null ? asked : workflow;
        }
        List<FieldError> errors = new ArrayList<>();
        if (workflow.maxTokens() != null
                && asked.maxTokens() != null
                && asked.maxTokens() > workflow.maxTokens()) {
            errors.add(
                    new FieldError(
                            "budget.maxTokens",
                            "at most " + workflow.maxTokens() + ", the workflow's own budget"));
        }
        if (workflow.maxCostUsd() != null
                && asked.maxCostUsd() != null
                && asked.maxCostUsd() > workflow.maxCostUsd()) {
            errors.add(
                    new FieldError(
                            "budget.maxCostUsd",
                            "at most " + workflow.maxCostUsd() + ", the workflow's own budget"));
        }
        if (!errors.isEmpty()) {
            throw ProblemException.invalid(errors);
        }
        return new WorkflowSpec.Budget(
                asked.maxTokens() != null ? asked.maxTokens() : workflow.maxTokens(),
                asked.maxCostUsd() != null ? asked.maxCostUsd() : workflow.maxCostUsd());
    }

    private static RunStore.Started replay(RunStore.Started earlier, String hash) {
        if (!hash.equals(earlier.requestHash())) {
            throw new ProblemException(
                    409,
                    "Idempotency key reused",
                    "this idempotencyKey already started run "
                            + earlier.id()
                            + " with a different workflow, input or budget; use a new key for a different run");
        }
        return earlier;
    }

    public RunStatus cancel(UUID id) throws SQLException {
        RunStatus status = runs.cancel(id);
        if (status == null) {
            throw RunQueries.notFound(id);
        }
        if (status != RunStatus.CANCELLED) {
            throw new ProblemException(
                    409,
                    "Run already ended",
                    "run "
                            + id
                            + " already ended as "
                            + status.db()
                            + "; there is nothing to cancel");
        }
        return status;
    }

    /**
     * A decision on an approval step of a run the caller may see: 400 for a request without {@code
     * by} (or with fields too long), 404 for an unknown step, 409 when the step is not awaiting
     * approval (not reached yet, still running its first check, or decided already).
     */
    public void decide(
            UUID id, String stepId, int item, boolean approve, DecisionRequest r, Caller caller)
            throws SQLException {
        List<FieldError> errors = new ArrayList<>();
        String by = r == null || r.by() == null ? "" : r.by().strip();
        if (by.isEmpty() || by.length() > 200) {
            errors.add(new FieldError("by", "name who decides, 1 to 200 characters"));
        }
        String comment = r == null ? null : r.comment();
        if (comment != null && comment.length() > 2000) {
            errors.add(new FieldError("comment", "at most 2,000 characters"));
        }
        if (NulCheck.in(by)) {
            errors.add(NulCheck.error("by"));
        }
        if (NulCheck.in(comment)) {
            errors.add(NulCheck.error("comment"));
        }
        if (!errors.isEmpty()) {
            throw ProblemException.invalid(errors);
        }
        StepStatus before = runs.decide(id, stepId, item, approve, by, comment, caller.name());
        String step = item < 0 ? stepId : stepId + "[" + item + "]";
        if (before == null) {
            throw new ProblemException(404, "Unknown step", "run " + id + " has no step " + step);
        }
        if (before != StepStatus.AWAITING_APPROVAL) {
            throw new ProblemException(
                    409,
                    "Not awaiting approval",
                    "step "
                            + step
                            + " of run "
                            + id
                            + " is "
                            + before
                            + ", not awaiting approval: a decision is taken once, on an approval"
                            + " step the run has reached");
        }
    }
}
