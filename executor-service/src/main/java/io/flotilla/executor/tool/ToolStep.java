package io.flotilla.executor.tool;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.common.workflow.Expressions;
import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.executor.step.FailureKind;
import io.flotilla.executor.step.StepKind;
import jakarta.inject.Singleton;

/**
 * A call of a declared tool. Its arguments are the step's {@code with}, rendered by {@link
 * Expressions#renderFields}. The call's {@code Idempotency-Key} is the step's ({@code
 * run/step/i<iteration>/f<failures>}): an executor that takes over a step whose call was under way
 * sends the same key again, a retry after a failure a new one. The tool's result is the step's
 * output.
 */
@Singleton
public class ToolStep implements StepKind {

    private final ToolHttp http;

    ToolStep(ToolHttp http) {
        this.http = http;
    }

    @Override
    public WorkflowSpec.Kind kind() {
        return WorkflowSpec.Kind.TOOL;
    }

    @Override
    public Outcome run(Execution e) {
        WorkflowSpec.ToolCall call = e.step().tool();
        WorkflowSpec.Tool tool = ToolHttp.declared(e.spec(), call.name());
        JsonNode args;
        try {
            args = Expressions.renderFields(call.with(), e.scope());
        } catch (Expressions.EvaluationException x) {
            return new Outcome.Failed(
                    FailureKind.FATAL,
                    "steps." + e.step().id() + ".tool.with: " + x.getMessage(),
                    0,
                    0);
        }
        try {
            JsonNode output =
                    http.call(
                            new ToolHttp.Call(
                                    tool,
                                    args,
                                    e.claim().idempotencyKey(),
                                    e.claim().run().namespace(),
                                    http.timeout(tool, e)));
            return new Outcome.Succeeded(output, 0, 0);
        } catch (ToolHttp.ToolFailed f) {
            return new Outcome.Failed(f.kind, f.getMessage(), 0, 0);
        }
    }
}
