package io.flotilla.executor;

import static io.flotilla.executor.Api.given;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.flotilla.common.tokens.TokenEstimator;
import io.flotilla.executor.fake.ExecutorTestResource;
import io.flotilla.executor.fake.FakeGateway;
import io.flotilla.executor.fake.FakeGateway.Call;
import io.flotilla.executor.fake.FakeGateway.Reply;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** The engine's semantics, end to end through the API, the engine and the (fake) gateway. */
@QuarkusTest
@QuarkusTestResource(ExecutorTestResource.class)
class EngineTest {

    private static String word(Call c, String marker) {
        return c.prompt()
                .substring(c.prompt().indexOf(marker) + marker.length())
                .trim()
                .split("\\s+")[0];
    }

    @Test
    void stepsRunInDependencyOrderWithOutputsRenderedIntoLaterPrompts() {
        FakeGateway.script("dag1:", c -> Reply.ok("done-" + word(c, "dag1:")));
        Api.publish(
                "engine",
                "dag",
                """
                defaults: {model: fast}
                steps:
                  - {id: d, needs: [b, c], agent: {prompt: "dag1: d {{steps.b.output}}+{{steps.c.output}}"}}
                  - {id: a, agent: {system: "You write tersely.", prompt: "dag1: a {{input.topic}}"}}
                  - {id: b, needs: [a], agent: {prompt: "dag1: b {{steps.a.output}}"}}
                  - {id: c, needs: [a], agent: {prompt: "dag1: c"}}
                """);
        String id = Api.start("engine/dag", "{\"topic\":\"tides\"}");
        JsonPath run = Api.ended(id);

        assertEquals("succeeded", run.getString("status"), run.prettify());
        assertEquals(
                "done-d", run.getString("output"), "the run's output is its last step's output");
        List<Call> calls = FakeGateway.calls("dag1:");
        assertEquals(
                List.of("a", "b", "c", "d"),
                calls.stream().map(c -> word(c, "dag1:")).sorted().toList());
        assertEquals("a", word(calls.get(0), "dag1:"), "a runs first");
        assertEquals("d", word(calls.get(3), "dag1:"), "d runs last");
        assertTrue(
                calls.get(0).prompt().contains("You write tersely.")
                        && calls.get(0).prompt().contains("a tides"),
                "templates render input");
        assertTrue(
                calls.get(3).prompt().contains("d done-b+done-c"),
                "d sees b's and c's outputs: " + calls.get(3).prompt());
        for (Call c : calls) {
            assertEquals(
                    id + "/" + word(c, "dag1:") + "/i0/f0",
                    c.idempotencyKey(),
                    "idempotency key run/step/attempt");
            assertNull(c.budget(), "no budget, no budget scope");
            assertEquals("fast", c.model());
        }
        assertEquals(
                4L * (FakeGateway.PROMPT_TOKENS + FakeGateway.COMPLETION_TOKENS),
                run.getLong("tokens"));
        assertEquals(4 * Double.parseDouble(FakeGateway.COST), run.getDouble("costUsd"), 1e-9);
        assertEquals(
                15,
                ((Number) Api.step(run, "b", null).get("tokens")).intValue(),
                "tokens per step");
    }

    @Test
    void aFalseWhenSkipsTheStep() {
        FakeGateway.script("when1:", c -> Reply.ok("{\"go\": false}"));
        FakeGateway.script("when1-yes", c -> Reply.ok("yes"));
        FakeGateway.script("when1-no", c -> Reply.ok("no"));
        Api.publish(
                "engine",
                "when",
                """
                defaults: {model: fast}
                steps:
                  - {id: check, agent: {prompt: "when1: check", output: {schema: {type: object, required: [go], properties: {go: {type: boolean}}}}}}
                  - {id: proceed, needs: [check], when: "steps.check.output.go", agent: {prompt: "when1-yes"}}
                  - {id: halt, needs: [check], when: "!steps.check.output.go", agent: {prompt: "when1-no"}}
                """);
        JsonPath run = Api.ended(Api.start("engine/when", "{}"));

        assertEquals("succeeded", run.getString("status"), run.prettify());
        assertEquals("skipped", Api.step(run, "proceed", null).get("status"));
        assertEquals("succeeded", Api.step(run, "halt", null).get("status"));
        assertTrue(FakeGateway.calls("when1-yes").isEmpty(), "a skipped step makes no call");
        assertEquals("no", run.getString("output.halt"));
        assertNull(run.get("output.proceed"), "a skipped step's output is null");
    }

    @Test
    void foreachFansOutAtMostMaxParallelAndJoinsInOrder() {
        FakeGateway.script(
                "fanlist:", c -> Reply.ok("{\"items\": [\"a\", \"b\", \"c\", \"d\", \"e\"]}"));
        FakeGateway.script("fanitem:", c -> Reply.ok("wrote " + word(c, "fanitem:")).after(150));
        FakeGateway.script("fanjoin:", c -> Reply.ok("joined"));
        Api.publish(
                "engine",
                "fan",
                """
                defaults: {model: fast}
                steps:
                  - {id: list, agent: {prompt: "fanlist: go", output: {schema: {type: object, properties: {items: {type: array}}}}}}
                  - {id: fan, needs: [list], foreach: steps.list.output.items, maxParallel: 2, agent: {prompt: "fanitem: {{item}}"}}
                  - {id: join, needs: [fan], agent: {prompt: "fanjoin: {{steps.fan.output}}"}}
                """);
        JsonPath run = Api.ended(Api.start("engine/fan", "{}"));

        assertEquals("succeeded", run.getString("status"), run.prettify());
        assertEquals(5, FakeGateway.calls("fanitem:").size());
        assertEquals(
                2,
                FakeGateway.maxInFlight("fanitem:"),
                "items run in parallel, never more than maxParallel");
        assertEquals(
                List.of("wrote a", "wrote b", "wrote c", "wrote d", "wrote e"),
                run.getList("steps.find { it.id == 'fan' && it.item == null }.output"));
        assertTrue(
                FakeGateway.calls("fanjoin:")
                        .get(0)
                        .prompt()
                        .contains("[\"wrote a\",\"wrote b\",\"wrote c\",\"wrote d\",\"wrote e\"]"),
                "the join sees the items' outputs in order");
        assertEquals(
                75,
                ((Number) Api.step(run, "fan", null).get("tokens")).intValue(),
                "the fan-out's tokens are its items' tokens");
        assertEquals("succeeded", Api.step(run, "fan", 4).get("status"));
    }

    @Test
    void aLoopRepeatsUntilItsConditionHolds() {
        AtomicInteger reviews = new AtomicInteger();
        FakeGateway.script(
                "loop1:",
                c -> Reply.ok("{\"approved\": " + (reviews.incrementAndGet() >= 3) + "}"));
        Api.publish(
                "engine",
                "loop",
                """
                defaults: {model: fast}
                steps:
                  - id: review
                    loop: {maxIterations: 5, until: "steps.review.output.approved == true"}
                    agent: {prompt: "loop1: review", output: {schema: {type: object, properties: {approved: {type: boolean}}}}}
                """);
        JsonPath run = Api.ended(Api.start("engine/loop", "{}"));

        assertEquals("succeeded", run.getString("status"), run.prettify());
        assertEquals(3, FakeGateway.calls("loop1:").size(), "three iterations: the third approved");
        assertEquals(2, Api.step(run, "review", null).get("iteration"));
        assertEquals(true, run.getBoolean("output.approved"));
    }

    @Test
    void aLoopStopsAtItsIterationCap() {
        FakeGateway.script("loopcap:", c -> Reply.ok("{\"approved\": false}"));
        FakeGateway.script("loopcap-publish", c -> Reply.ok("published"));
        Api.publish(
                "engine",
                "loop-cap",
                """
                defaults: {model: fast}
                steps:
                  - id: review
                    loop: {maxIterations: 2, until: "steps.review.output.approved == true"}
                    agent: {prompt: "loopcap: review", output: {schema: {type: object, properties: {approved: {type: boolean}}}}}
                  - {id: publish, needs: [review], when: "steps.review.output.approved", agent: {prompt: "loopcap-publish"}}
                """);
        JsonPath run = Api.ended(Api.start("engine/loop-cap", "{}"));

        assertEquals("succeeded", run.getString("status"), run.prettify());
        assertEquals(2, FakeGateway.calls("loopcap:").size(), "the cap ends the loop");
        assertEquals("skipped", Api.step(run, "publish", null).get("status"));
    }

    @Test
    void aFailingCallIsRetriedWithANewIdempotencyKey() {
        AtomicInteger n = new AtomicInteger();
        FakeGateway.script(
                "flaky1:",
                c ->
                        n.incrementAndGet() == 1
                                ? Reply.error(503, "upstream_unavailable")
                                : Reply.ok("fine"));
        Api.publish(
                "engine",
                "flaky",
                """
                defaults: {model: fast, retries: {max: 2}}
                steps:
                  - {id: only, agent: {prompt: "flaky1: go"}}
                """);
        String id = Api.start("engine/flaky", "{}");
        JsonPath run = Api.ended(id);

        assertEquals("succeeded", run.getString("status"), run.prettify());
        assertEquals(
                List.of(id + "/only/i0/f0", id + "/only/i0/f1"),
                FakeGateway.calls("flaky1:").stream().map(Call::idempotencyKey).toList());
        assertEquals(2, Api.step(run, "only", null).get("attempts"));
    }

    @Test
    void aStepThatKeepsFailingFailsTheRunAfterItsRetries() {
        FakeGateway.script("broken1:", c -> Reply.error(500, "server_error"));
        FakeGateway.script("broken1-after", c -> Reply.ok("never"));
        Api.publish(
                "engine",
                "broken",
                """
                defaults: {model: fast}
                steps:
                  - {id: first, retries: {max: 2}, agent: {prompt: "broken1: go"}}
                  - {id: after, needs: [first], agent: {prompt: "broken1-after"}}
                """);
        JsonPath run = Api.ended(Api.start("engine/broken", "{}"));

        assertEquals("failed", run.getString("status"));
        assertTrue(
                run.getString("reason").contains("step first failed after 3 attempts"),
                run.getString("reason"));
        assertEquals(3, FakeGateway.calls("broken1:").size(), "one call and two retries");
        assertEquals("cancelled", Api.step(run, "after", null).get("status"));
        assertTrue(FakeGateway.calls("broken1-after").isEmpty());
    }

    @Test
    void aRequestTheGatewayRejectsIsNotRetried() {
        FakeGateway.script("reject1:", c -> Reply.error(400, "invalid_request_error"));
        Api.publish(
                "engine",
                "rejected",
                """
                defaults: {model: fast, retries: {max: 3}}
                steps:
                  - {id: only, agent: {prompt: "reject1: go"}}
                """);
        JsonPath run = Api.ended(Api.start("engine/rejected", "{}"));

        assertEquals("failed", run.getString("status"));
        assertEquals(
                1, FakeGateway.calls("reject1:").size(), "retrying a rejected request cannot help");
        assertTrue(run.getString("reason").contains("(400)"), run.getString("reason"));
    }

    @Test
    void aCallPastTheStepTimeoutIsAFailedAttempt() {
        AtomicInteger n = new AtomicInteger();
        FakeGateway.script(
                "slow1:",
                c -> n.incrementAndGet() == 1 ? Reply.ok("late").after(3000) : Reply.ok("on time"));
        Api.publish(
                "engine",
                "slow",
                """
                defaults: {model: fast}
                steps:
                  - {id: only, timeout: 1s, retries: {max: 1}, agent: {prompt: "slow1: go"}}
                """);
        JsonPath run = Api.ended(Api.start("engine/slow", "{}"));

        assertEquals("succeeded", run.getString("status"), run.prettify());
        assertEquals("on time", run.getString("output"));
        assertEquals(2, Api.step(run, "only", null).get("attempts"));
        String events =
                given().accept("text/event-stream")
                        .get("/api/v1/runs/" + run.getString("id") + "/events")
                        .asString();
        assertTrue(
                events.contains("step.retrying") && events.contains("the LLM call timed out"),
                "the first attempt failed as a timeout: " + events);
    }

    @Test
    void anAnswerThatMissesTheOutputSchemaIsAskedForAgainWithTheErrors() {
        AtomicInteger n = new AtomicInteger();
        FakeGateway.script(
                "schema1:",
                c ->
                        n.incrementAndGet() == 1
                                ? Reply.ok("{\"title\": 42}")
                                : Reply.ok("```json\n{\"title\": \"Tides\"}\n```"));
        Api.publish(
                "engine",
                "schema",
                """
                defaults: {model: fast}
                steps:
                  - {id: only, agent: {prompt: "schema1: go", output: {schema: {type: object, required: [title], properties: {title: {type: string}}}}}}
                """);
        String id = Api.start("engine/schema", "{}");
        JsonPath run = Api.ended(id);

        assertEquals("succeeded", run.getString("status"), run.prettify());
        assertEquals("Tides", run.getString("output.title"));
        List<Call> calls = FakeGateway.calls("schema1:");
        assertEquals(2, calls.size());
        assertEquals(id + "/only/i0/f0/repair", calls.get(1).idempotencyKey());
        assertTrue(
                calls.get(1).prompt().contains("does not match the required JSON schema")
                        && calls.get(1).prompt().contains("title"),
                "the second call carries the validation errors: " + calls.get(1).prompt());
        Map<?, ?> format = calls.get(0).body().getJsonObject("response_format").getMap();
        assertEquals(
                "json_schema",
                format.get("type"),
                "the schema goes to the gateway as response_format");
        assertEquals(
                30,
                ((Number) Api.step(run, "only", null).get("tokens")).intValue(),
                "both calls are counted");
    }

    @Test
    void anAnswerThatStillMissesTheSchemaFailsTheAttempt() {
        FakeGateway.script("schema2:", c -> Reply.ok("not json at all"));
        Api.publish(
                "engine",
                "schema-bad",
                """
                defaults: {model: fast}
                steps:
                  - {id: only, agent: {prompt: "schema2: go", output: {schema: {type: object}}}}
                """);
        JsonPath run = Api.ended(Api.start("engine/schema-bad", "{}"));

        assertEquals("failed", run.getString("status"));
        assertTrue(
                run.getString("reason").contains("does not match the output schema"),
                run.getString("reason"));
        assertFalse(
                run.getString("reason").contains("not json at all"), "no model text in reasons");
    }

    @Test
    void aRunStopsWhenTheGatewaySaysItsBudgetIsSpent() {
        FakeGateway.script("budget1: first", c -> Reply.ok("first done"));
        FakeGateway.script("budget1: second", c -> Reply.error(429, "insufficient_quota"));
        Api.publish(
                "engine",
                "budget",
                """
                defaults: {model: fast, retries: {max: 3}}
                budget: {maxTokens: 1000, maxCostUsd: 0.25}
                steps:
                  - {id: first, agent: {prompt: "budget1: first"}}
                  - {id: second, needs: [first], agent: {prompt: "budget1: second"}}
                """);
        String id = Api.start("engine/budget", "{}");
        JsonPath run = Api.ended(id);

        assertEquals("failed", run.getString("status"));
        assertTrue(
                run.getString("reason").startsWith("budget exhausted at step second"),
                run.getString("reason"));
        assertEquals(
                "succeeded", Api.step(run, "first", null).get("status"), "finished steps are kept");
        assertEquals("first done", Api.step(run, "first", null).get("output"));
        assertEquals(
                1, FakeGateway.calls("budget1: second").size(), "a spent budget is not retried");
        var scope = FakeGateway.scope("run:" + id);
        assertEquals(1000, scope.getInteger("maxTokens"));
        assertEquals(0.25, scope.getDouble("maxCostUsd"));
        assertEquals("tests", scope.getString("tenant"));
        assertEquals(
                "Bearer " + ExecutorTestResource.API_KEY,
                scope.getString("authorization"),
                "the executor opens run scopes with its own key, not a gateway admin token");
        FakeGateway.calls("budget1:")
                .forEach(
                        c ->
                                assertEquals(
                                        "run:" + id,
                                        c.budget(),
                                        "every call names the run's budget scope"));
    }

    @Test
    void theContextLimitFailsWindowsOrSummarizesWhatTheTemplatesInsert() throws Exception {
        String notes =
                java.util.stream.IntStream.range(0, 3000)
                        .mapToObj(i -> "fact" + i)
                        .collect(java.util.stream.Collectors.joining(" "));
        String input = "{\"title\":\"tides\",\"notes\":\"" + notes + "\"}";
        FakeGateway.script("Summarize the text the user sends", c -> Reply.ok("SUMMARY-OF-NOTES"));
        for (String strategy : List.of("fail", "window", "summarize")) {
            Api.publish(
                    "engine",
                    "ctx-" + strategy,
                    """
                    defaults: {model: fast}
                    context: {maxTokens: 400, strategy: %s}
                    steps:
                      - {id: brief, agent: {system: "You brief editors.", prompt: "ctx-%s: Brief on {{input.title}}: {{input.notes}} End."}}
                    """
                            .formatted(strategy, strategy));
        }

        JsonPath failed = Api.ended(Api.start("engine/ctx-fail", input));
        assertEquals("failed", failed.getString("status"));
        assertTrue(
                failed.getString("reason")
                        .contains("over context.maxTokens 400 (context.strategy fail)"),
                failed.getString("reason"));
        assertTrue(FakeGateway.calls("ctx-fail:").isEmpty(), "an overlong prompt is never sent");
        assertEquals(
                1,
                ((Number) Api.step(failed, "brief", null).get("attempts")).intValue(),
                "and not retried");

        JsonPath windowed = Api.ended(Api.start("engine/ctx-window", input));
        assertEquals("succeeded", windowed.getString("status"), windowed.prettify());
        Call call = FakeGateway.calls("ctx-window:").get(0);
        int tokens = TokenEstimator.promptTokens(new ObjectMapper().readTree(call.body().encode()));
        assertTrue(tokens <= 400, "the prompt sent fits the limit: " + tokens);
        assertTrue(
                call.prompt().contains("ctx-window: Brief on tides: fact0 fact1 "),
                "the author's text and the head of the notes");
        assertTrue(
                call.prompt().matches("(?s).* …\\[\\d+ tokens cut] End\\."), "the cut is marked");

        String id = Api.start("engine/ctx-summarize", input);
        JsonPath summarized = Api.ended(id);
        assertEquals("succeeded", summarized.getString("status"), summarized.prettify());
        Call summary =
                FakeGateway.calls("fact2999").stream()
                        .filter(c -> c.idempotencyKey().startsWith(id))
                        .findFirst()
                        .orElseThrow();
        assertEquals(
                id + "/brief/i0/f0/summary/0",
                summary.idempotencyKey(),
                "the summary call has its own key");
        assertTrue(
                summary.prompt().contains("fact0 fact1") && summary.prompt().contains("fact2999"),
                "the whole value is summarized");
        int share = summary.body().getInteger("max_tokens");
        assertTrue(
                share > 100 && share < 400,
                "the summary is asked to fit the value's share: " + share);
        assertTrue(
                FakeGateway.calls("ctx-summarize:")
                        .get(0)
                        .prompt()
                        .contains("ctx-summarize: Brief on tides: SUMMARY-OF-NOTES End."));
        assertEquals(
                2L * (FakeGateway.PROMPT_TOKENS + FakeGateway.COMPLETION_TOKENS),
                summarized.getLong("tokens"),
                "the summary's tokens count for the step");
    }
}
