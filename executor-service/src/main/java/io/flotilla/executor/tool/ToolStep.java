package io.flotilla.executor.tool;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flotilla.common.workflow.Expressions;
import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.executor.step.FailureKind;
import io.flotilla.executor.step.StepKind;
import jakarta.inject.Singleton;
import java.util.Iterator;
import java.util.Map;
import java.util.regex.Matcher;

/**
 * A call of a declared tool. Its arguments are the step's {@code with}: a string that is one
 * placeholder ({@code "{{input.count}}"}) gives the value itself, with its type; other strings are
 * templates; other values are taken as written. The call's {@code Idempotency-Key} is the step's
 * ({@code run/step/i<iteration>/f<failures>}): an executor that takes over a step whose call was
 * under way sends the same key again, a retry after a failure a new one. The tool's result is the
 * step's output.
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
            args = arguments(call.with(), e.scope());
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

    private static JsonNode arguments(JsonNode with, Expressions.Scope scope) {
        ObjectNode args = JsonNodeFactory.instance.objectNode();
        if (with == null) {
            return args;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = with.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            JsonNode v = f.getValue();
            if (v.isTextual()) {
                Matcher whole = Expressions.TEMPLATE.matcher(v.textValue());
                args.set(
                        f.getKey(),
                        whole.matches() && !whole.group(1).contains("{{")
                                ? Expressions.evaluate(whole.group(1), scope)
                                : JsonNodeFactory.instance.textNode(
                                        Expressions.render(v.textValue(), scope)));
            } else {
                args.set(f.getKey(), v);
            }
        }
        return args;
    }
}
