package io.flotilla.executor.agent;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.langchain4j.data.message.AiMessage;
import dev.langchain4j.data.message.ChatMessage;
import dev.langchain4j.data.message.SystemMessage;
import dev.langchain4j.data.message.UserMessage;
import dev.langchain4j.exception.HttpException;
import dev.langchain4j.model.chat.ChatModel;
import dev.langchain4j.model.chat.request.ChatRequest;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiChatRequestParameters;
import io.flotilla.common.tokens.TokenEstimator;
import io.flotilla.common.workflow.Expressions;
import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.executor.ExecutorConfig;
import io.flotilla.executor.step.Claim;
import io.flotilla.executor.step.FailureKind;
import io.flotilla.executor.step.Journal;
import io.flotilla.executor.step.StepKind;
import io.flotilla.executor.tool.ToolHttp;
import io.flotilla.executor.workflow.JsonSchemas;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Runs an agent step: renders its system message and prompt, calls the gateway's {@code
 * /v1/chat/completions} through quarkus-langchain4j's OpenAI client (with the step's idempotency
 * key and the run's budget scope), and checks the answer against the step's output schema, asking
 * once more with the validation errors when it does not match.
 */
@ApplicationScoped
public class AgentCaller implements StepKind {

    /** A failed call, classified for the engine, with what it spent before failing. */
    public static final class CallFailed extends RuntimeException {
        public final FailureKind kind;
        public final long tokens;
        public final double cost;

        CallFailed(FailureKind kind, String message, long tokens, double cost) {
            super(message, null, false, false);
            this.kind = kind;
            this.tokens = tokens;
            this.cost = cost;
        }
    }

    private static final String SUMMARIZE =
            "Summarize the text the user sends in at most %d tokens. Keep names, numbers, "
                    + "decisions and open questions. Answer with the summary only.";

    /** Tool calls of an agent execution when {@code maxToolCalls} is not given. */
    static final int DEFAULT_TOOL_CALLS = 10;

    private final ExecutorConfig config;
    private final GatewayCall gatewayCall;
    private final ToolHttp toolHttp;
    private final JsonSchemas schemas;
    private final ObjectMapper json;
    private final Map<Duration, ChatModel> models = new ConcurrentHashMap<>();

    AgentCaller(
            ExecutorConfig config,
            GatewayCall gatewayCall,
            ToolHttp toolHttp,
            JsonSchemas schemas,
            ObjectMapper json) {
        this.config = config;
        this.gatewayCall = gatewayCall;
        this.toolHttp = toolHttp;
        this.schemas = schemas;
        this.json = json;
    }

    @Override
    public WorkflowSpec.Kind kind() {
        return WorkflowSpec.Kind.AGENT;
    }

    @Override
    public Outcome run(Execution e) {
        try {
            return call(e);
        } catch (CallFailed f) {
            return new Outcome.Failed(f.kind, f.getMessage(), f.tokens, f.cost);
        }
    }

    private Outcome.Succeeded call(Execution e) {
        Claim claim = e.claim();
        WorkflowSpec spec = e.spec();
        WorkflowSpec.Step step = e.step();
        Expressions.Scope scope = e.scope();
        WorkflowSpec.Agent agent = step.agent();
        String model = agent.model() != null ? agent.model() : spec.defaults().model();
        JsonNode schema = agent.output() == null ? null : agent.output().schema();
        Duration d = e.timeout(config.stepTimeout());
        Duration timeout = Duration.ofSeconds(Math.max(1, (d.toMillis() + 999) / 1000));
        Call call = new Call(timeout, model, claim.runId() + "", e.budgetScope(), tools(e));
        String key = claim.idempotencyKey();
        try {
            List<ChatMessage> messages = messages(spec, step, scope, call, key);
            ChatResponse first;
            if (agent.tools().isEmpty()) {
                first = call.send(schema, messages, key, config.gateway().maxTokens());
            } else {
                messages = converse(e, call, messages, schema, key);
                first = call.last;
            }
            String text = first.aiMessage().text();
            if (schema == null) {
                return new Outcome.Succeeded(
                        TextNode.valueOf(text == null ? "" : text), call.tokens, call.cost);
            }
            List<String> problems = new ArrayList<>();
            JsonNode parsed = parse(text, schema, problems);
            if (parsed != null) {
                return new Outcome.Succeeded(parsed, call.tokens, call.cost);
            }
            messages.add(AiMessage.from(text == null ? "" : text));
            messages.add(
                    UserMessage.from(
                            "Your answer does not match the required JSON schema: "
                                    + String.join("; ", problems)
                                    + ". Answer again with only the corrected JSON."));
            ChatResponse second =
                    agent.tools().isEmpty()
                            ? call.send(
                                    schema, messages, key + "/repair", config.gateway().maxTokens())
                            : call.send(
                                    schema,
                                    messages,
                                    key + "/repair",
                                    config.gateway().maxTokens(),
                                    "none");
            problems.clear();
            parsed = parse(second.aiMessage().text(), schema, problems);
            if (parsed != null) {
                return new Outcome.Succeeded(parsed, call.tokens, call.cost);
            }
            throw new CallFailed(
                    FailureKind.RETRYABLE,
                    "the answer does not match the output schema: " + String.join("; ", problems),
                    call.tokens,
                    call.cost);
        } catch (CallFailed x) {
            throw x;
        } catch (Expressions.EvaluationException x) {
            throw new CallFailed(
                    FailureKind.FATAL, "steps." + step.id() + ".agent: " + x.getMessage(), 0, 0);
        } catch (RuntimeException x) {
            throw classify(x, call.tokens, call.cost);
        }
    }

    /**
     * The tool-calling conversation: the model's turns and its tool calls, each checkpointed in the
     * step's journal as it completes, until the model answers without calling a tool (that answer
     * is {@code call.last}). A resumed step starts after the last checkpoint: the calls of a turn
     * that have a result are not made again, nor the turns before. After {@code maxToolCalls}
     * calls, the model is asked to answer without tools. Answers the messages of the last call.
     */
    private List<ChatMessage> converse(
            Execution e, Call call, List<ChatMessage> base, JsonNode schema, String key) {
        WorkflowSpec.Agent agent = e.step().agent();
        int maxCalls = agent.maxToolCalls() == null ? DEFAULT_TOOL_CALLS : agent.maxToolCalls();
        Journal journal = e.journal();
        Conversation conversation = new Conversation(journal.entries());
        int toolTokens = TokenEstimator.count(json.valueToTree(call.tools).toString());
        WorkflowSpec.Context context = e.spec().context();
        while (true) {
            for (JsonNode pending : conversation.pendingCalls()) {
                int made = conversation.count("result");
                String content =
                        made < maxCalls
                                ? perform(e, call, pending, key + "/c" + made)
                                : "error: not made: agent.maxToolCalls ("
                                        + maxCalls
                                        + ") calls were made; answer with what you have";
                JsonNode result = Conversation.result(pending, content.replace('\u0000', '\uFFFD'));
                call.checkpoint(journal, result);
                conversation.add(result);
            }
            boolean open = conversation.count("result") < maxCalls;
            List<ChatMessage> messages =
                    conversation.fit(
                            e.step().id(),
                            base,
                            toolTokens,
                            context == null ? null : context.maxTokens(),
                            context == null ? null : context.strategy(),
                            (text, room) ->
                                    summary(
                                            call,
                                            text,
                                            room,
                                            key + "/s" + conversation.count("summary")),
                            entry -> call.checkpoint(journal, entry));
            ChatResponse response =
                    call.send(
                            schema,
                            messages,
                            key + "/t" + conversation.count("turn"),
                            config.gateway().maxTokens(),
                            open ? "auto" : "none");
            if (!response.aiMessage().hasToolExecutionRequests()) {
                return messages;
            }
            if (!open) {
                throw new CallFailed(
                        FailureKind.RETRYABLE,
                        "the model called tools after agent.maxToolCalls ("
                                + maxCalls
                                + ") calls were made, with tool_choice none",
                        call.tokens,
                        call.cost);
            }
            JsonNode turn = Conversation.turn(response.aiMessage());
            call.checkpoint(journal, turn);
            conversation.add(turn);
        }
    }

    /**
     * One tool call of the model: its result for the model. Arguments the tool refuses (unknown
     * tool, not JSON, not matching the tool's input schema, a 4xx answer) come back to the model as
     * an error result without failing the step; a retryable failure (5xx, timeout) fails the
     * attempt, which resumes at this call; other failures (egress refused, a missing secret) fail
     * the step.
     */
    private String perform(Execution e, Call call, JsonNode request, String key) {
        String name = request.path("name").asText();
        if (!e.step().agent().tools().contains(name)) {
            return "error: there is no tool '"
                    + name
                    + "'; the tools are "
                    + String.join(", ", e.step().agent().tools());
        }
        JsonNode args;
        try {
            args = json.readTree(request.path("arguments").asText("{}"));
        } catch (JsonProcessingException x) {
            return "error: the arguments are not JSON: " + x.getOriginalMessage();
        }
        if (!args.isObject()) {
            return "error: the arguments must be a JSON object";
        }
        WorkflowSpec.Tool tool = ToolHttp.declared(e.spec(), name);
        try {
            JsonNode out =
                    toolHttp.call(
                            new ToolHttp.Call(
                                    tool,
                                    args,
                                    key,
                                    e.claim().run().namespace(),
                                    toolHttp.timeout(tool, e)));
            return out.isTextual() ? out.textValue() : out.toString();
        } catch (ToolHttp.ToolFailed f) {
            if (f.forModel) {
                return "error: " + f.getMessage();
            }
            throw new CallFailed(f.kind, f.getMessage(), call.tokens, call.cost);
        }
    }

    private String summary(Call call, String text, int maxTokens, String key) {
        String summary =
                call.send(
                                null,
                                List.of(
                                        SystemMessage.from(SUMMARIZE.formatted(maxTokens)),
                                        UserMessage.from(text)),
                                key,
                                maxTokens)
                        .aiMessage()
                        .text();
        return summary == null ? "" : summary;
    }

    /** The agent's tools as OpenAI function definitions. */
    private List<Map<String, Object>> tools(Execution e) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (String name : e.step().agent().tools()) {
            WorkflowSpec.Tool tool = ToolHttp.declared(e.spec(), name);
            Map<String, Object> function = new java.util.LinkedHashMap<>();
            function.put("name", name);
            if (tool.description() != null) {
                function.put("description", tool.description());
            }
            function.put(
                    "parameters",
                    tool.input() != null
                            ? json.convertValue(tool.input(), Map.class)
                            : Map.of("type", "object", "properties", Map.of()));
            out.add(Map.of("type", "function", "function", function));
        }
        return out;
    }

    /**
     * The step's system message and prompt, rendered and held within the workflow's context limit.
     */
    private List<ChatMessage> messages(
            WorkflowSpec spec,
            WorkflowSpec.Step step,
            Expressions.Scope scope,
            Call call,
            String key) {
        WorkflowSpec.Agent agent = step.agent();
        List<Expressions.Rendered> rendered = new ArrayList<>();
        Expressions.Rendered system =
                agent.system() == null ? null : Expressions.parts(agent.system(), scope);
        if (system != null && !system.text().isBlank()) {
            rendered.add(system);
        }
        rendered.add(Expressions.parts(agent.prompt(), scope));
        for (Expressions.Rendered r : rendered) {
            int chars = r.text().length();
            if (chars > config.limits().templateChars()) {
                throw new CallFailed(
                        FailureKind.FATAL,
                        "steps."
                                + step.id()
                                + ".agent: the rendered "
                                + (r == system ? "system message" : "prompt")
                                + " has "
                                + chars
                                + " characters; at most "
                                + config.limits().templateChars()
                                + " (flotilla.executor.limits.template-chars)",
                        0,
                        0);
            }
        }
        WorkflowSpec.Context context = spec.context();
        if (context != null && context.maxTokens() != null) {
            int[] summaries = {0};
            rendered =
                    ContextLimit.fit(
                            step.id(),
                            context.maxTokens(),
                            context.strategy(),
                            rendered,
                            (text, max) -> {
                                String summary =
                                        call.send(
                                                        null,
                                                        List.of(
                                                                SystemMessage.from(
                                                                        SUMMARIZE.formatted(max)),
                                                                UserMessage.from(text)),
                                                        key + "/summary/" + summaries[0]++,
                                                        max)
                                                .aiMessage()
                                                .text();
                                return summary == null ? "" : summary;
                            });
        }
        List<ChatMessage> messages = new ArrayList<>();
        if (rendered.size() == 2) {
            messages.add(SystemMessage.from(rendered.get(0).text()));
        }
        messages.add(UserMessage.from(rendered.get(rendered.size() - 1).text()));
        return messages;
    }

    /**
     * The gateway calls of one step execution, adding up their tokens and cost (until a journal
     * entry takes them over).
     */
    private final class Call {
        final Duration timeout;
        final String model;
        final String runId;
        final boolean budgetScope;

        /** The agent's tools as OpenAI function definitions; empty without tools. */
        final List<Map<String, Object>> tools;

        long tokens;
        double cost;
        ChatResponse last;

        Call(
                Duration timeout,
                String model,
                String runId,
                boolean budgetScope,
                List<Map<String, Object>> tools) {
            this.timeout = timeout;
            this.model = model;
            this.runId = runId;
            this.budgetScope = budgetScope;
            this.tools = tools;
        }

        /** Appends an entry to the journal with what was spent since the last one. */
        void checkpoint(Journal journal, JsonNode entry) {
            journal.append(entry, tokens, cost);
            tokens = 0;
            cost = 0;
        }

        /** A call in a conversation with the tools: the model may call them, or not ("none"). */
        ChatResponse send(
                JsonNode schema,
                List<ChatMessage> messages,
                String key,
                int maxOutputTokens,
                String toolChoice) {
            return send(
                    schema,
                    messages,
                    key,
                    maxOutputTokens,
                    Map.of("tools", tools, "tool_choice", toolChoice));
        }

        ChatResponse send(
                JsonNode schema, List<ChatMessage> messages, String key, int maxOutputTokens) {
            return send(schema, messages, key, maxOutputTokens, Map.of());
        }

        private ChatResponse send(
                JsonNode schema,
                List<ChatMessage> messages,
                String key,
                int maxOutputTokens,
                Map<String, Object> toolParameters) {
            gatewayCall.headers(
                    budgetScope
                            ? Map.of(
                                    GatewayCall.IDEMPOTENCY_KEY,
                                    key,
                                    GatewayCall.BUDGET,
                                    "run:" + runId)
                            : Map.of(GatewayCall.IDEMPOTENCY_KEY, key));
            var parameters =
                    OpenAiChatRequestParameters.builder()
                            .modelName(model)
                            .maxOutputTokens(maxOutputTokens);
            Map<String, Object> custom = new java.util.HashMap<>(toolParameters);
            if (schema != null) {
                custom.putAll(
                        Map.of(
                                "response_format",
                                Map.of(
                                        "type",
                                        "json_schema",
                                        "json_schema",
                                        Map.of(
                                                "name",
                                                "output",
                                                "schema",
                                                json.convertValue(schema, Map.class)))));
            }
            if (!custom.isEmpty()) {
                parameters.customParameters(custom);
            }
            try {
                ChatResponse response =
                        model(timeout)
                                .chat(
                                        ChatRequest.builder()
                                                .messages(messages)
                                                .parameters(parameters.build())
                                                .build());
                tokens += usage(response);
                cost += gatewayCall.takeCost(key);
                last = response;
                return response;
            } finally {
                gatewayCall.clear(key);
            }
        }
    }

    private ChatModel model(Duration timeout) {
        return models.computeIfAbsent(
                timeout,
                t ->
                        OpenAiChatModel.builder()
                                .baseUrl(config.gateway().url().replaceAll("/+$", "") + "/v1")
                                .apiKey(config.gateway().apiKey())
                                .timeout(t)
                                .maxRetries(
                                        0) // the engine retries, with backoff and a new idempotency
                                // key
                                .customHeaders(gatewayCall::headers)
                                .build());
    }

    private static long usage(ChatResponse response) {
        return response.tokenUsage() == null || response.tokenUsage().totalTokenCount() == null
                ? 0
                : response.tokenUsage().totalTokenCount();
    }

    /** The answer as JSON conforming to the schema, or null with the problems. */
    private JsonNode parse(String text, JsonNode schema, List<String> problems) {
        if (text == null) {
            problems.add("the answer is empty");
            return null;
        }
        String body = text.strip();
        if (body.startsWith("```")) {
            body = body.replaceFirst("^```[a-zA-Z]*\\s*", "").replaceFirst("\\s*```$", "");
        }
        JsonNode value;
        try {
            value = json.readTree(body);
        } catch (JsonProcessingException e) {
            problems.add("the answer is not JSON");
            return null;
        }
        problems.addAll(schemas.problems(schema, value));
        return problems.isEmpty() ? value : null;
    }

    /**
     * Whether a failure in the chain is a timeout: LangChain4j's own, or the JDK's that the HTTP
     * clients raise (Vert.x's extends {@link java.util.concurrent.TimeoutException}).
     */
    private static boolean isTimeout(Throwable t) {
        return t instanceof dev.langchain4j.exception.TimeoutException
                || t instanceof java.util.concurrent.TimeoutException
                || t instanceof java.net.http.HttpTimeoutException
                || t instanceof java.net.SocketTimeoutException;
    }

    private CallFailed classify(RuntimeException e, long tokens, double cost) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof HttpException http) {
                int status = http.statusCode();
                String code = "";
                String message = "gateway answered " + status;
                try {
                    JsonNode error = json.readTree(http.getMessage()).path("error");
                    code = error.path("code").asText("");
                    message = error.path("message").asText(message);
                } catch (JsonProcessingException | RuntimeException ignored) {
                    // not the OpenAI error envelope: keep the status
                }
                if (status == 429
                        && (code.equals("insufficient_quota")
                                || code.equals("scope_paused")
                                || code.equals("budget_exhausted"))) {
                    return new CallFailed(FailureKind.BUDGET, message, tokens, cost);
                }
                boolean retryable =
                        status >= 500 || status == 408 || status == 409 || status == 429;
                return new CallFailed(
                        retryable ? FailureKind.RETRYABLE : FailureKind.FATAL,
                        message + " (" + status + ")",
                        tokens,
                        cost);
            }
            if (isTimeout(t)) {
                return new CallFailed(
                        FailureKind.RETRYABLE, "the LLM call timed out", tokens, cost);
            }
        }
        return new CallFailed(
                FailureKind.RETRYABLE,
                "the LLM call failed: "
                        + e.getClass().getSimpleName()
                        + (e.getMessage() == null
                                ? ""
                                : ": " + e.getMessage().lines().findFirst().orElse("")),
                tokens,
                cost);
    }
}
