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
import io.flotilla.common.workflow.Expressions;
import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.executor.ExecutorConfig;
import io.flotilla.executor.engine.Checkpoints.FailureKind;
import io.flotilla.executor.engine.Claim;
import io.flotilla.executor.workflow.JsonSchemas;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Runs an agent step: renders its system message and prompt, calls the gateway's
 * {@code /v1/chat/completions} through quarkus-langchain4j's OpenAI client (with the step's
 * idempotency key and the run's budget scope), and checks the answer against the step's output
 * schema, asking once more with the validation errors when it does not match.
 */
@ApplicationScoped
public class AgentCaller {

    /** A finished call: the step's output, and the tokens and cost of all its calls. */
    public record Result(JsonNode output, long tokens, double cost) {
    }

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

    private static final ObjectMapper JSON = new ObjectMapper();

    private final ExecutorConfig config;
    private final Map<Duration, ChatModel> models = new ConcurrentHashMap<>();

    AgentCaller(ExecutorConfig config) {
        this.config = config;
    }

    public Result call(Claim claim, WorkflowSpec spec, WorkflowSpec.Step step, Expressions.Scope scope, boolean budgetScope) {
        WorkflowSpec.Agent agent = step.agent();
        List<ChatMessage> messages = new ArrayList<>();
        try {
            String system = Expressions.render(agent.system(), scope);
            if (system != null && !system.isBlank()) {
                messages.add(SystemMessage.from(system));
            }
            messages.add(UserMessage.from(Expressions.render(agent.prompt(), scope)));
        } catch (Expressions.EvaluationException e) {
            throw new CallFailed(FailureKind.FATAL, "steps." + step.id() + ".agent: " + e.getMessage(), 0, 0);
        }
        String model = agent.model() != null ? agent.model() : spec.defaults().model();
        JsonNode schema = agent.output() == null ? null : agent.output().schema();
        Duration timeout = timeout(spec, step);
        String key = claim.idempotencyKey();
        long tokens = 0;
        double cost = 0;
        try {
            ChatResponse first = send(timeout, model, schema, messages, claim.runId() + "", key, budgetScope);
            tokens += usage(first);
            cost += GatewayCall.takeCost(key);
            String text = first.aiMessage().text();
            if (schema == null) {
                return new Result(TextNode.valueOf(text == null ? "" : text), tokens, cost);
            }
            List<String> problems = new ArrayList<>();
            JsonNode parsed = parse(text, schema, problems);
            if (parsed != null) {
                return new Result(parsed, tokens, cost);
            }
            messages.add(AiMessage.from(text == null ? "" : text));
            messages.add(UserMessage.from("Your answer does not match the required JSON schema: " + String.join("; ", problems)
                    + ". Answer again with only the corrected JSON."));
            String repairKey = key + "/repair";
            ChatResponse second = send(timeout, model, schema, messages, claim.runId() + "", repairKey, budgetScope);
            tokens += usage(second);
            cost += GatewayCall.takeCost(repairKey);
            problems.clear();
            parsed = parse(second.aiMessage().text(), schema, problems);
            if (parsed != null) {
                return new Result(parsed, tokens, cost);
            }
            throw new CallFailed(FailureKind.RETRYABLE, "the answer does not match the output schema: " + String.join("; ", problems),
                    tokens, cost);
        } catch (CallFailed e) {
            throw e;
        } catch (RuntimeException e) {
            throw classify(e, tokens, cost);
        } finally {
            GatewayCall.clear(key);
            GatewayCall.clear(key + "/repair");
        }
    }

    private ChatResponse send(Duration timeout, String model, JsonNode schema, List<ChatMessage> messages, String runId, String key,
            boolean budgetScope) {
        GatewayCall.headers(budgetScope ? Map.of(GatewayCall.IDEMPOTENCY_KEY, key, GatewayCall.BUDGET, "run:" + runId)
                : Map.of(GatewayCall.IDEMPOTENCY_KEY, key));
        var parameters = OpenAiChatRequestParameters.builder().modelName(model).maxOutputTokens(config.gateway().maxTokens());
        if (schema != null) {
            parameters.customParameters(Map.of("response_format", Map.of("type", "json_schema",
                    "json_schema", Map.of("name", "output", "schema", JSON.convertValue(schema, Map.class)))));
        }
        return model(timeout).chat(ChatRequest.builder().messages(messages).parameters(parameters.build()).build());
    }

    private ChatModel model(Duration timeout) {
        return models.computeIfAbsent(timeout, t -> OpenAiChatModel.builder()
                .baseUrl(config.gateway().url().replaceAll("/+$", "") + "/v1")
                .apiKey(config.gateway().apiKey())
                .timeout(t)
                .maxRetries(0) // the engine retries, with backoff and a new idempotency key
                .customHeaders(GatewayCall::headers)
                .build());
    }

    /** The step's timeout in whole seconds, rounded up: the client's read timeout has second granularity. */
    private Duration timeout(WorkflowSpec spec, WorkflowSpec.Step step) {
        String t = step.timeout() != null ? step.timeout() : spec.defaults() != null ? spec.defaults().timeout() : null;
        Duration d;
        if (t == null) {
            d = config.stepTimeout();
        } else {
            long n = Long.parseLong(t.replaceAll("[a-z]+$", ""));
            d = t.endsWith("ms") ? Duration.ofMillis(n) : t.endsWith("s") ? Duration.ofSeconds(n)
                    : t.endsWith("m") ? Duration.ofMinutes(n) : Duration.ofHours(n);
        }
        return Duration.ofSeconds(Math.max(1, (d.toMillis() + 999) / 1000));
    }

    private static long usage(ChatResponse response) {
        return response.tokenUsage() == null || response.tokenUsage().totalTokenCount() == null ? 0 : response.tokenUsage().totalTokenCount();
    }

    /** The answer as JSON conforming to the schema, or null with the problems. */
    private static JsonNode parse(String text, JsonNode schema, List<String> problems) {
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
            value = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            problems.add("the answer is not JSON");
            return null;
        }
        problems.addAll(JsonSchemas.problems(schema, value));
        return problems.isEmpty() ? value : null;
    }

    private static CallFailed classify(RuntimeException e, long tokens, double cost) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof HttpException http) {
                int status = http.statusCode();
                String code = "";
                String message = "gateway answered " + status;
                try {
                    JsonNode error = JSON.readTree(http.getMessage()).path("error");
                    code = error.path("code").asText("");
                    message = error.path("message").asText(message);
                } catch (JsonProcessingException | RuntimeException ignored) {
                    // not the OpenAI error envelope: keep the status
                }
                if (status == 429 && (code.equals("insufficient_quota") || code.equals("scope_paused") || code.equals("budget_exhausted"))) {
                    return new CallFailed(FailureKind.BUDGET, message, tokens, cost);
                }
                boolean retryable = status >= 500 || status == 408 || status == 409 || status == 429;
                return new CallFailed(retryable ? FailureKind.RETRYABLE : FailureKind.FATAL, message + " (" + status + ")", tokens, cost);
            }
            String name = t.getClass().getSimpleName();
            if (name.contains("Timeout")) {
                return new CallFailed(FailureKind.RETRYABLE, "the LLM call timed out", tokens, cost);
            }
        }
        return new CallFailed(FailureKind.RETRYABLE, "the LLM call failed: " + e.getClass().getSimpleName()
                + (e.getMessage() == null ? "" : ": " + e.getMessage().lines().findFirst().orElse("")), tokens, cost);
    }
}
