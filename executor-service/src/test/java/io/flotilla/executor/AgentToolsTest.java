package io.flotilla.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.common.tokens.TokenEstimator;
import io.flotilla.executor.fake.ExecutorTestResource;
import io.flotilla.executor.fake.FakeGateway;
import io.flotilla.executor.fake.FakeGateway.Reply;
import io.flotilla.executor.fake.FakeTool;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;
import org.jboss.logging.Logger;
import org.junit.jupiter.api.Test;

/**
 * Agents that call tools: through OpenAI tool calling, each model turn and tool result checkpointed
 * in the step's journal, arguments checked before any request, {@code maxToolCalls}, and a
 * conversation held within the context limit over 100 turns.
 */
@QuarkusTest
@QuarkusTestResource(ExecutorTestResource.class)
class AgentToolsTest {

    private static final Logger LOG = Logger.getLogger(AgentToolsTest.class);

    @Inject DataSource db;

    /** The tool results so far in a chat call (its role tool messages). */
    private static List<JsonObject> results(FakeGateway.Call call) {
        List<JsonObject> out = new ArrayList<>();
        for (Object m : call.body().getJsonArray("messages")) {
            if ("tool".equals(((JsonObject) m).getString("role"))) {
                out.add((JsonObject) m);
            }
        }
        return out;
    }

    private List<String> journal(String runId) throws Exception {
        try (Connection c = db.getConnection();
                PreparedStatement ps =
                        c.prepareStatement(
                                "SELECT entry->>'type' FROM executor.journal WHERE run_id = ?"
                                        + " ORDER BY iteration, seq")) {
            ps.setObject(1, UUID.fromString(runId));
            List<String> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(rs.getString(1));
                }
            }
            return out;
        }
    }

    @Test
    void anAgentCallsItsToolsChecksTheirArgumentsAndAnswersWithTheResults() throws Exception {
        FakeTool.script("weather", r -> FakeTool.Reply.json("{\"city\": \"Oslo\", \"temp\": -3}"));
        FakeGateway.script(
                "agt1:",
                c ->
                        switch (results(c).size()) {
                            case 0 -> Reply.toolCall("call_a", "weather", "{\"city\":\"Oslo\"}");
                            case 1 -> Reply.toolCall("call_b", "weather", "{\"city\": 5}");
                            default -> Reply.ok("It is -3 in Oslo.");
                        });
        Api.publish(
                "agents",
                "weather",
                """
                defaults: {model: fast}
                tools:
                  - name: weather
                    description: The weather in a city now.
                    http: {url: "URL/weather/{{city}}"}
                    input: {type: object, required: [city], properties: {city: {type: string}}}
                steps:
                  - {id: ask, agent: {prompt: "agt1: how cold is Oslo?", tools: [weather]}}
                """
                        .replace("URL", FakeTool.url()));
        String id = Api.start("agents/weather", "{}");
        JsonPath run = Api.ended(id);

        assertEquals("succeeded", run.getString("status"), run.prettify());
        assertEquals("It is -3 in Oslo.", Api.step(run, "ask", null).get("output"));
        List<FakeGateway.Call> calls = FakeGateway.calls("agt1:");
        assertEquals(3, calls.size());
        JsonObject offered = calls.get(0).body().getJsonArray("tools").getJsonObject(0);
        assertEquals("weather", offered.getJsonObject("function").getString("name"));
        assertEquals(
                "object",
                offered.getJsonObject("function").getJsonObject("parameters").getString("type"),
                "the tool's input schema is its parameters");
        assertEquals("auto", calls.get(0).body().getString("tool_choice"));
        assertEquals(
                "{\"city\":\"Oslo\",\"temp\":-3}",
                results(calls.get(1)).get(0).getString("content"),
                "the tool's answer is the result the model reads");
        assertTrue(
                results(calls.get(2))
                        .get(1)
                        .getString("content")
                        .startsWith(
                                "error: the arguments of tool 'weather' do not match its input"
                                        + " schema"),
                "invalid arguments go back to the model: " + results(calls.get(2)));
        List<FakeTool.Request> made = FakeTool.requests("weather");
        assertEquals(1, made.size(), "the invalid call made no request");
        assertEquals(id + "/ask/i0/f0/c0", made.get(0).header("Idempotency-Key"));
        assertEquals(
                List.of(id + "/ask/i0/f0/t0", id + "/ask/i0/f0/t1", id + "/ask/i0/f0/t2"),
                calls.stream().map(FakeGateway.Call::idempotencyKey).toList(),
                "each turn is its own gateway call");
        assertEquals(List.of("turn", "result", "turn", "result"), journal(id));
        int perCall = FakeGateway.PROMPT_TOKENS + FakeGateway.COMPLETION_TOKENS;
        assertEquals(
                3 * perCall,
                ((Number) Api.step(run, "ask", null).get("tokens")).intValue(),
                "every turn's tokens count once");
        assertEquals(3 * perCall, run.getInt("tokens"));
        try (Connection c = db.getConnection();
                PreparedStatement ps =
                        c.prepareStatement(
                                "SELECT (data->>'tokens')::int FROM executor.events WHERE run_id = ?"
                                        + " AND type = 'step.succeeded'")) {
            ps.setObject(1, UUID.fromString(id));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                assertEquals(3 * perCall, rs.getInt(1), "the event reports the step's total");
            }
        }
    }

    @Test
    void afterMaxToolCallsTheModelMustAnswer() {
        FakeTool.script("count", r -> FakeTool.Reply.json("1"));
        FakeGateway.script(
                "agt2:",
                c ->
                        c.body().getString("tool_choice").equals("none")
                                ? Reply.ok("enough")
                                : Reply.toolCall("call_" + results(c).size(), "count", "{}"));
        Api.publish(
                "agents",
                "counting",
                """
                defaults: {model: fast}
                tools:
                  - {name: count, http: {url: "URL/count"}}
                steps:
                  - {id: ask, agent: {prompt: "agt2: count", tools: [count], maxToolCalls: 3}}
                """
                        .replace("URL", FakeTool.url()));
        JsonPath run = Api.ended(Api.start("agents/counting", "{}"));
        assertEquals("succeeded", run.getString("status"), run.prettify());
        assertEquals("enough", Api.step(run, "ask", null).get("output"));
        assertEquals(3, FakeTool.requests("count").size());
        assertEquals(4, FakeGateway.calls("agt2:").size());
    }

    /**
     * The seed's 100-turn check: an agent makes 100 tool calls, carrying its history, under
     * context.maxTokens 1500 with summarize. Every call stays under the limit, and the tokens per
     * turn stay flat, so the total grows linearly (without the limit the 100th call alone would
     * carry all 100 results, about 8,000 tokens, and the total would grow with the square).
     */
    @Test
    void aHundredTurnsWithSummarizeStayUnderTheLimitAndGrowLinearly() {
        String page = "agt3: record " + "lorem ipsum dolor sit amet ".repeat(12);
        FakeTool.script("page", r -> FakeTool.Reply.json(new JsonArray().add(page).encode()));
        FakeGateway.script(
                "agt3:",
                c -> {
                    String system =
                            c.body().getJsonArray("messages").getJsonObject(0).getString("content");
                    if (system != null && system.startsWith("Summarize")) {
                        return Reply.ok("agt3: pages read so far, all alike: lorem ipsum.");
                    }
                    return "none".equals(c.body().getString("tool_choice"))
                            ? Reply.ok("agt3: read them all")
                            : Reply.toolCall(
                                    "call_" + c.atNanos(),
                                    "page",
                                    "{\"n\":" + results(c).size() + "}");
                });
        Api.publish(
                "agents",
                "pages",
                """
                defaults: {model: fast}
                context: {maxTokens: 1500, strategy: summarize}
                tools:
                  - {name: page, http: {url: "URL/page"}, input: {type: object, properties: {n: {type: integer}}}}
                steps:
                  - {id: read, agent: {system: "agt3: you read pages.", prompt: "agt3: read 100 pages", tools: [page], maxToolCalls: 100}}
                """
                        .replace("URL", FakeTool.url()));
        JsonPath run = Api.ended(Api.start("agents/pages", "{}"), Duration.ofSeconds(120));
        assertEquals("succeeded", run.getString("status"), run.prettify());
        assertEquals(100, FakeTool.requests("page").size());

        List<Integer> turns = new ArrayList<>();
        int summaries = 0;
        for (FakeGateway.Call c : FakeGateway.calls("agt3:")) {
            int tokens =
                    TokenEstimator.promptTokens(
                            new com.fasterxml.jackson.databind.ObjectMapper()
                                    .valueToTree(c.body().getMap()));
            assertTrue(tokens <= 1500, "a call of " + tokens + " tokens, over the limit");
            if (c.body().containsKey("tools")) {
                turns.add(tokens);
            } else {
                summaries++;
            }
        }
        assertEquals(101, turns.size(), "100 turns that call a tool and the answer");
        long first = turns.subList(0, 50).stream().mapToLong(Integer::longValue).sum();
        long second = turns.subList(50, 100).stream().mapToLong(Integer::longValue).sum();
        StringBuilder curve = new StringBuilder();
        long total = 0;
        for (int i = 0; i < turns.size(); i++) {
            total += turns.get(i);
            if ((i + 1) % 10 == 0) {
                curve.append(" turn ").append(i + 1).append(": ").append(total);
            }
        }
        LOG.infof(
                "100-turn check: prompt tokens per turn %d..%d, %d summaries, cumulative:%s;"
                        + " turns 51-100 / 1-50 = %.2f",
                turns.stream().mapToInt(Integer::intValue).min().orElse(0),
                turns.stream().mapToInt(Integer::intValue).max().orElse(0),
                summaries,
                curve,
                (double) second / first);
        assertTrue(summaries > 0, "the history was summarized");
        assertTrue(
                second < first * 1.5,
                "the second 50 turns cost about what the first 50 did (linear total): "
                        + first
                        + " then "
                        + second);
    }
}
