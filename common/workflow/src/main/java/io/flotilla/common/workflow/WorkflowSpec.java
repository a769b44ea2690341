package io.flotilla.common.workflow;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.crd.generator.annotation.PreserveUnknownFields;
import io.fabric8.crd.generator.annotation.SchemaFrom;
import io.fabric8.generator.annotation.Max;
import io.fabric8.generator.annotation.Min;
import io.fabric8.generator.annotation.Pattern;
import io.fabric8.generator.annotation.Required;
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
        @JsonPropertyDescription("The run's input: its JSON Schema (2020-12).") Input input,
        @JsonPropertyDescription(
                        "What steps inherit when they do not say: model, timeout, retries.")
                Defaults defaults,
        @JsonPropertyDescription(
                        "The budget of each run, opened in the gateway; a run's own budget may"
                                + " replace it.")
                Budget budget,
        @JsonPropertyDescription("How agent steps keep their messages within a token limit.")
                Context context,
        @JsonPropertyDescription("HTTP tools that tool steps and agents may call.")
                List<Tool> tools,
        @Required
                @JsonPropertyDescription(
                        "The steps, in any order: needs makes the graph, which must have no cycle.")
                List<Step> steps) {

    /** A duration as people write it; {@link io.flotilla.common.time.Durations} reads it. */
    static final String DURATION = "^[0-9]{1,18}(ms|s|m|h)$";

    /** Step and tool names: lower-case letters, digits and '_', starting with a letter. */
    static final String NAME = "^[a-z][a-z0-9_]{0,62}$";

    public WorkflowSpec {
        tools = tools == null ? List.of() : List.copyOf(tools);
        steps = steps == null ? List.of() : List.copyOf(steps);
    }

    /** The input's JSON Schema. */
    public record Input(
            @PreserveUnknownFields
                    @JsonPropertyDescription(
                            "A JSON Schema (2020-12) the run's input must meet; checked before a run"
                                    + " starts.")
                    JsonNode schema) {}

    /** Values steps inherit: a model alias of the gateway, a timeout like "60s", retries. */
    public record Defaults(
            @JsonPropertyDescription("A model alias of the gateway, e.g. fast.") String model,
            @Pattern(DURATION) @JsonPropertyDescription("Each step's time limit, e.g. 60s, 500ms, 5m, 1h.")
                    String timeout,
            @JsonPropertyDescription("Retries after a failed attempt.") Retries retries) {}

    /** The run's budget: tokens and/or USD. */
    public record Budget(
            @Min(1) @JsonPropertyDescription("Most tokens a run may use, in and out.")
                    Long maxTokens,
            @Min(value = 0, inclusive = false) @JsonPropertyDescription("Most a run may cost, in USD.")
                    Double maxCostUsd) {}

    /** Context bounds: {@code strategy} is summarize, window or fail. */
    public record Context(
            @Required
                    @Min(256) @JsonPropertyDescription(
                            "Most tokens an agent step's messages may hold (at least 256).")
                    Integer maxTokens,
            @SchemaFrom(type = Strategy.class)
                    @JsonPropertyDescription(
                            "What to do when they would hold more: fail (the default) fails the"
                                    + " step, window cuts the longest inserted values, summarize"
                                    + " asks the model to summarize them.")
                    String strategy) {}

    /** The context strategies, as the CRD schema lists them ({@link Context#strategy}). */
    public enum Strategy {
        @JsonProperty("summarize")
        SUMMARIZE,
        @JsonProperty("window")
        WINDOW,
        @JsonProperty("fail")
        FAIL
    }

    /** Retries of a step after a failure. */
    public record Retries(
            @Required
                    @Min(0) @Max(10) @JsonPropertyDescription(
                            "Attempts after the first, 0 to 10, with exponential backoff.")
                    Integer max) {}

    /**
     * A declared HTTP tool: tool steps call it with arguments, agent steps let the model call it.
     * The executor's egress policy decides which hosts it may reach; its secrets are read at call
     * time and sent only as request headers.
     */
    public record Tool(
            @Required @Pattern(NAME) @JsonPropertyDescription("The tool's name, as steps call it.")
                    String name,
            @JsonPropertyDescription(
                            "What the tool does and when to use it: agents' models read it.")
                    String description,
            @Required @JsonPropertyDescription("The HTTP request the tool makes.") Http http,
            @PreserveUnknownFields
                    @JsonPropertyDescription(
                            "A JSON Schema (2020-12) the tool's arguments must meet; checked"
                                    + " before any request.")
                    JsonNode input,
            @JsonPropertyDescription(
                            "A CEL expression over response (status, headers, body) giving the"
                                    + " tool's result; response.body by default.")
                    String output,
            @JsonPropertyDescription(
                            "Secrets sent as request headers, read when the tool is called and"
                                    + " never stored, logged or shown to a model.")
                    @JsonInclude(JsonInclude.Include.NON_EMPTY)
                    List<SecretHeader> secrets) {

        public Tool {
            secrets = secrets == null ? List.of() : List.copyOf(secrets);
        }
    }

    /**
     * A tool's request. POST, PUT and PATCH send the arguments as the JSON body; the URL's path and
     * query, and the headers, may hold {@code {{...}}} templates over {@code input}, the arguments.
     */
    public record Http(
            @SchemaFrom(type = Method.class)
                    @JsonPropertyDescription("The HTTP method (GET default).")
                    String method,
            @Required
                    @JsonPropertyDescription(
                            "An absolute http(s) URL; its path and query may hold {{...}}"
                                    + " templates over input (the arguments), inserted"
                                    + " percent-encoded. The host is fixed.")
                    String url,
            @JsonPropertyDescription("Request headers, with {{...}} templates over input.")
                    @JsonInclude(JsonInclude.Include.NON_EMPTY)
                    java.util.Map<String, String> headers,
            @Pattern(DURATION) @JsonPropertyDescription("Time limit of one request, e.g. 10s.")
                    String timeout,
            @Min(1) @JsonPropertyDescription(
                            "Largest response body accepted, in bytes; a larger one fails the"
                                    + " call. At most the executor's own limit.")
                    Integer maxResponseBytes,
            @JsonPropertyDescription(
                            "Hosts the tool may reach besides its URL's (redirect targets); each"
                                    + " must also pass the executor's egress policy.")
                    @JsonInclude(JsonInclude.Include.NON_EMPTY)
                    List<String> allowedHosts) {

        public Http {
            allowedHosts = allowedHosts == null ? List.of() : List.copyOf(allowedHosts);
            headers = headers == null ? java.util.Map.of() : java.util.Map.copyOf(headers);
        }
    }

    /** A request header whose value is a secret: a Kubernetes Secret's key or an executor env. */
    public record SecretHeader(
            @Required @JsonPropertyDescription("The header, e.g. Authorization.") String header,
            @JsonPropertyDescription("Text before the secret, e.g. 'Bearer '.") String prefix,
            @JsonPropertyDescription(
                            "A key of a Secret in the run's namespace labelled"
                                    + " flotilla.io/tool-secret=true.")
                    SecretKeyRef secretKeyRef,
            @JsonPropertyDescription(
                            "An environment variable of the executor named FLOTILLA_TOOL_*.")
                    String env) {}

    /** A key of a Kubernetes Secret. */
    public record SecretKeyRef(
            @Required @JsonPropertyDescription("The Secret's name.") String name,
            @Required @JsonPropertyDescription("The key in its data.") String key) {}

    /** The HTTP methods a tool may use, as the CRD schema lists them ({@link Http#method}). */
    public enum Method {
        GET,
        POST,
        PUT,
        PATCH,
        DELETE
    }

    /**
     * One step. Exactly one of {@code agent}, {@code tool}, {@code approval}, {@code workflow},
     * {@code wait} says its kind; the rest are modifiers.
     */
    @JsonInclude(JsonInclude.Include.NON_NULL)
    public record Step(
            @Required
                    @Pattern(NAME) @JsonPropertyDescription(
                            "The step's name: lower-case letters, digits and '_', unique in the"
                                    + " workflow; templates read its output as steps.<id>.output.")
                    String id,
            @JsonPropertyDescription("Steps that must have finished first (the DAG).")
                    List<String> needs,
            @JsonPropertyDescription(
                            "A CEL condition over input and steps.<id>.output; false skips the"
                                    + " step.")
                    String when,
            @JsonPropertyDescription("Run the step again until a condition holds.") Loop loop,
            @JsonPropertyDescription(
                            "A CEL expression giving a list: the step runs once per item (item in"
                                    + " templates), and its output is the list of their outputs.")
                    String foreach,
            @Min(1) @JsonPropertyDescription(
                            "With foreach: at most this many items at once (all by default).")
                    Integer maxParallel,
            @JsonPropertyDescription("Kind agent: an LLM call through the gateway.") Agent agent,
            @JsonPropertyDescription("Kind tool: a call of a declared tool.") ToolCall tool,
            @JsonPropertyDescription("Kind approval: waits for a person's decision.")
                    Approval approval,
            @JsonPropertyDescription("Kind workflow: runs another workflow as one step.")
                    SubWorkflow workflow,
            // "wait" is the field; a record component cannot be named after Object.wait()
            @com.fasterxml.jackson.annotation.JsonProperty("wait")
                    @JsonPropertyDescription(
                            "Kind wait: a durable timer; the run holds no executor while it waits.")
                    Wait timer,
            @JsonPropertyDescription("Retries after a failed attempt (the defaults' otherwise).")
                    Retries retries,
            @Pattern(DURATION) @JsonPropertyDescription("The step's time limit per attempt, e.g. 60s.")
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
                            + (workflow != null ? 1 : 0)
                            + (timer != null ? 1 : 0);
            if (n != 1) {
                return null;
            }
            return agent != null
                    ? Kind.AGENT
                    : tool != null
                            ? Kind.TOOL
                            : approval != null
                                    ? Kind.APPROVAL
                                    : workflow != null ? Kind.WORKFLOW : Kind.WAIT;
        }
    }

    /** The closed set of step kinds. */
    public enum Kind {
        AGENT,
        TOOL,
        APPROVAL,
        WORKFLOW,
        WAIT
    }

    /** Repeat a step until a CEL condition holds, at most {@code maxIterations} times. */
    public record Loop(
            @Required
                    @Min(1) @Max(100) @JsonPropertyDescription("At most this many iterations, 1 to 100.")
                    Integer maxIterations,
            @Required
                    @JsonPropertyDescription(
                            "A CEL condition checked after each iteration; true ends the loop.")
                    String until) {}

    /**
     * An LLM call through the gateway; {@code output.schema} is the JSON Schema its answer must
     * meet.
     */
    public record Agent(
            @JsonPropertyDescription("A model alias of the gateway (the defaults' otherwise).")
                    String model,
            @JsonPropertyDescription("The system message, with {{...}} templates.") String system,
            @Required
                    @JsonPropertyDescription(
                            "The user message, with {{...}} templates over input,"
                                    + " steps.<id>.output and item.")
                    String prompt,
            @JsonPropertyDescription("A JSON Schema the answer must meet (asked once more if not).")
                    Output output,
            @JsonPropertyDescription(
                            "Declared tools the model may call; the executor checks and makes each"
                                    + " call and gives the model its result.")
                    @JsonInclude(JsonInclude.Include.NON_EMPTY)
                    List<String> tools,
            @Min(1) @Max(100) @JsonPropertyDescription(
                            "With tools: most tool calls of one execution (10 by default); then"
                                    + " the model must answer.")
                    Integer maxToolCalls) {

        public Agent {
            tools = tools == null ? List.of() : List.copyOf(tools);
        }
    }

    /** The structured answer an agent step must give. */
    public record Output(
            @PreserveUnknownFields @JsonPropertyDescription("A JSON Schema (2020-12).")
                    JsonNode schema) {}

    /** A call of a declared tool with templated arguments. */
    public record ToolCall(
            @Required @JsonPropertyDescription("The declared tool to call.") String name,
            @PreserveUnknownFields
                    @JsonPropertyDescription("Its arguments, with {{...}} templates.")
                    JsonNode with) {}

    /**
     * Waits for a person's decision, at most {@code timeout}; then {@code onTimeout} decides
     * (reject by default).
     */
    public record Approval(
            @Pattern(DURATION) @JsonPropertyDescription("How long to wait for a decision.")
                    String timeout,
            @Pattern("^(approve|reject)$") @JsonPropertyDescription(
                            "With timeout: the decision when it passes, approve or reject"
                                    + " (reject by default).")
                    String onTimeout) {}

    /** Runs another workflow as one step. */
    public record SubWorkflow(
            @Required @JsonPropertyDescription("The published workflow to run, in this namespace.")
                    String name,
            @PreserveUnknownFields @JsonPropertyDescription("Its input, with {{...}} templates.")
                    JsonNode input) {}

    /** Waits for a duration from the step's start, or until a time; exactly one of the two. */
    public record Wait(
            @Pattern(DURATION) @JsonPropertyDescription(
                            "How long to wait from the step's first start, e.g. 90s or 2h.")
                    String duration,
            @JsonPropertyDescription(
                            "An RFC 3339 time to wait until, e.g. 2026-12-24T09:00:00Z, with"
                                    + " {{...}} templates; a time past does not wait.")
                    String until) {}
}
