package io.flotilla.executor;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.executor.fake.ExecutorTestResource;
import io.flotilla.executor.fake.FakeGateway;
import io.flotilla.executor.fake.FakeGateway.Reply;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * {@code workflow} steps: a child run of a published workflow, its output the step's, its budget
 * nested in the parent's, visible with its parent, cancelled with it.
 */
@QuarkusTest
@QuarkusTestResource(ExecutorTestResource.class)
class SubWorkflowTest {

    private static String child(JsonPath parent, String step) {
        return parent.<Map<String, Object>>getList("children").stream()
                .filter(c -> c.get("step").equals(step))
                .map(c -> (String) c.get("id"))
                .findFirst()
                .orElseThrow(
                        () -> new AssertionError("no child of " + step + ": " + parent.prettify()));
    }

    @Test
    void aWorkflowStepRunsAChildWhoseOutputBudgetAndTokensAreTheParents() {
        FakeGateway.script("sub1:", c -> Reply.ok("summary of " + c.prompt().strip()));
        Api.publish(
                "subs",
                "summarize",
                """
                defaults: {model: fast}
                input: {schema: {type: object, required: [text], properties: {text: {type: string}}}}
                steps:
                  - {id: sum, agent: {prompt: "sub1: {{input.text}}"}}
                """);
        Api.publish(
                "subs",
                "report",
                """
                defaults: {model: fast}
                budget: {maxTokens: 5000}
                steps:
                  - {id: draft, agent: {prompt: "sub1: draft"}}
                  - {id: shorten, needs: [draft], workflow: {name: summarize, input: {text: "{{steps.draft.output}}"}}}
                """);
        String id = Api.start("subs/report", "{}");
        JsonPath run = Api.ended(id);

        assertEquals("succeeded", run.getString("status"), run.prettify());
        String childId = child(run, "shorten");
        JsonPath child = Api.run(childId);
        assertEquals("subs/summarize", child.getString("workflow"));
        assertEquals(id, child.getString("parent.run"), "the child names its parent");
        assertEquals("shorten", child.getString("parent.step"));
        assertEquals(
                child.getString("output"),
                Api.step(run, "shorten", null).get("output"),
                "the child's output is the step's");
        assertEquals(
                "run:" + id,
                FakeGateway.scope("run:" + childId).getString("parent"),
                "the child's budget scope nests in the parent's");
        assertTrue(
                FakeGateway.calls("sub1:").stream()
                        .anyMatch(c -> ("run:" + childId).equals(c.budget())),
                "the child's calls are charged to its scope");
        int perCall = FakeGateway.PROMPT_TOKENS + FakeGateway.COMPLETION_TOKENS;
        assertEquals(perCall, child.getInt("tokens"));
        assertEquals(2 * perCall, run.getInt("tokens"), "the parent's tokens include the child's");
    }

    @Test
    void cancellingTheParentCancelsTheChild() {
        Api.publish(
                "subs",
                "gate",
                """
                steps:
                  - {id: hold, approval: {}}
                """);
        Api.publish(
                "subs",
                "outer",
                """
                steps:
                  - {id: inner, workflow: {name: gate}}
                """);
        String id = Api.start("subs/outer", "{}");
        await().atMost(Duration.ofSeconds(10))
                .until(() -> !Api.run(id).getList("children").isEmpty());
        String childId = child(Api.run(id), "inner");
        await().atMost(Duration.ofSeconds(10))
                .until(
                        () ->
                                Api.step(Api.run(childId), "hold", null)
                                        .get("status")
                                        .equals("awaiting_approval"));

        Api.given().post("/api/v1/runs/" + id + "/cancel").then().statusCode(202);
        JsonPath child = Api.ended(childId);
        assertEquals("cancelled", child.getString("status"));
        assertEquals("its parent run " + id + " cancelled", child.getString("reason"));
        assertEquals("cancelled", Api.ended(id).getString("status"));
    }

    @Test
    void aFailedChildFailsTheStepAndAnUnknownOrSelfStartingWorkflowIsRefused() {
        FakeGateway.script("sub3:", c -> Reply.error(400, "invalid_request"));
        Api.publish(
                "subs",
                "broken",
                """
                defaults: {model: fast}
                steps:
                  - {id: fail, agent: {prompt: "sub3: x"}}
                """);
        Api.publish(
                "subs",
                "calls-broken",
                """
                steps:
                  - {id: call, workflow: {name: broken}}
                """);
        JsonPath run = Api.ended(Api.start("subs/calls-broken", "{}"));
        assertEquals("failed", run.getString("status"));
        String error = (String) Api.step(run, "call", null).get("error");
        assertTrue(error.matches("the child run [-0-9a-f]+ of subs/broken failed: .*"), error);

        Api.publish(
                "subs",
                "calls-missing",
                """
                steps:
                  - {id: call, workflow: {name: missing}}
                """);
        JsonPath missing = Api.ended(Api.start("subs/calls-missing", "{}"));
        assertEquals(
                "steps.call.workflow: the child run of subs/missing could not start: no workflow"
                        + " subs/missing; publish it first with PUT /api/v1/workflows/subs/missing",
                Api.step(missing, "call", null).get("error"));

        Api.publish(
                "subs",
                "recurse",
                """
                steps:
                  - {id: again, workflow: {name: recurse}}
                """);
        JsonPath recurse = Api.ended(Api.start("subs/recurse", "{}"), Duration.ofSeconds(30));
        assertEquals("failed", recurse.getString("status"));
        List<String> errors =
                recurse.<Map<String, Object>>getList("steps").stream()
                        .map(s -> String.valueOf(s.get("error")))
                        .toList();
        assertTrue(
                errors.get(0).contains("subs/recurse failed"),
                "each parent fails with its child: " + errors);
        JsonPath deepest = recurse;
        int depth = 0;
        while (!deepest.getList("children").isEmpty()) {
            deepest = Api.ended(child(deepest, "again"));
            depth++;
        }
        assertEquals(5, depth, "five levels of children");
        assertTrue(
                String.valueOf(Api.step(deepest, "again", null).get("error"))
                        .endsWith(
                                "sub-workflows nest at most 5 deep; this child would be at depth 6"
                                        + " (does a workflow start itself?)"),
                deepest.prettify());
    }
}
