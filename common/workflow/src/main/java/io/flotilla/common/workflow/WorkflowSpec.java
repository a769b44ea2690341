package io.flotilla.common.workflow;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * A declarative workflow: the same document as the {@code Workflow} custom resource's spec and the
 * executor's API body. No user code: steps are agents, tools, approvals or sub-workflows, wired by
 * {@code needs}, with CEL conditions ({@code when}, {@code loop.until}, {@code foreach}) and {@code
 * {{...}}} templates over {@code input}, {@code steps.<id>.output} and {@code item}.
 *
 * @param input the input's JSON Schema
 * @param defaults model, timeout and retries that steps inherit
 * @param budget the per-run budget the executor opens in the gateway
 * @param context how long conversation context is kept within bounds
 * @param tools HTTP tools agents and tool steps may call
 * @param steps the steps, in any order (the DAG comes from {@code needs})
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record WorkflowSpec(
        Input input,
        Defaults defaults,
        Budget budget,
        Context context,
        List<Tool> tools,
        List<Step> steps) {

    public WorkflowSpec {
        tools = tools == null ? List.of() : List.copyOf(tools);
        steps = steps == null ? List.of() : List.copyOf(steps);
    }

    /** The input's JSON Schema. */
    public record Input(JsonNode schema) {}

    /** Values steps inherit: a model alias of the gateway, a timeout like "60s", retries. */
    public record Defaults(String model, String timeout, Retries retries) {}

    /** The run's budget: tokens and/or USD. */
    public record Budget(Long maxTokens, Double maxCostUsd) {}

    /** Context bounds: {@code strategy} is summarize, window or fail. */
    public record Context(Integer maxTokens, String strategy) {}

    /** Retries of a step after a failure. */
    public record Retries(Integer max) {}

    /** A declared HTTP tool; requests go only to {@code allowedHosts}. */
    public record Tool(String name, Http http, JsonNode input) {}

    public record Http(String method, String url, List<String> allowedHosts) {}

    /**
     * One step. Exactly one of {@code agent}, {@code tool}, {@code approval}, {@code workflow} says
     * its kind; the rest are modifiers.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Step(
            String id,
            List<String> needs,
            String when,
            Loop loop,
            String foreach,
            Integer maxParallel,
            Agent agent,
            ToolCall tool,
            Approval approval,
            SubWorkflow workflow,
            Retries retries,
            String timeout) {

        public Step {
            needs = needs == null ? List.of() : List.copyOf(needs);
        }

        /**
         * The kind of the step, or null when it names none or several (the validator reports it).
         */
        public Kind kind() {
            int n =
                    (agent != null ? 1 : 0)
                            + (tool != null ? 1 : 0)
                            + (approval != null ? 1 : 0)
                            + (workflow != null ? 1 : 0);
            if (n != 1) {
                return null;
            }
            return agent != null
                    ? Kind.AGENT
                    : tool != null ? Kind.TOOL : approval != null ? Kind.APPROVAL : Kind.WORKFLOW;
        }
    }

    /** The closed set of step kinds. */
    public enum Kind {
        AGENT,
        TOOL,
        APPROVAL,
        WORKFLOW
    }

    /** Repeat a step until a CEL condition holds, at most {@code maxIterations} times. */
    public record Loop(Integer maxIterations, String until) {}

    /**
     * An LLM call through the gateway; {@code output.schema} is the JSON Schema its answer must
     * meet.
     */
    public record Agent(String model, String system, String prompt, Output output) {}

    public record Output(JsonNode schema) {}

    /** A call of a declared tool with templated arguments. */
    public record ToolCall(String name, JsonNode with) {}

    /** Waits for a signal, at most {@code timeout}. */
    public record Approval(String timeout) {}

    /** Runs another workflow as one step. */
    public record SubWorkflow(String name, JsonNode input) {}
}
