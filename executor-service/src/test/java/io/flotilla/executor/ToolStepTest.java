package io.flotilla.executor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.executor.fake.ExecutorTestResource;
import io.flotilla.executor.fake.FakeTool;
import io.flotilla.executor.fake.FakeTool.Reply;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * {@code tool} steps against an HTTP service on loopback: arguments checked before any request,
 * templates percent-encoded, an Idempotency-Key per attempt, 4xx/5xx/timeouts, the response cap,
 * redirects and the egress policy.
 */
@QuarkusTest
@QuarkusTestResource(ExecutorTestResource.class)
class ToolStepTest {

    /** Publishes a workflow with one tool (declared from {@code tool}) and runs it. */
    private static JsonPath run(String name, String tool, String steps, String input) {
        Api.publish(
                "tools",
                name,
                "tools:\n  - " + tool.replace("URL", FakeTool.url()) + "\nsteps:\n" + steps);
        return Api.ended(Api.start("tools/" + name, input));
    }

    private static String error(JsonPath run, String step) {
        return (String) Api.step(run, step, null).get("error");
    }

    @Test
    void aToolStepSendsItsCheckedArgumentsWithAKeyAndMapsTheAnswer() {
        FakeTool.script("orders", r -> Reply.json("{\"total\": 21, \"items\": [1, 2]}"));
        FakeTool.script("notes", r -> Reply.json("{\"id\": \"n-1\"}"));
        Api.publish(
                "tools",
                "orders",
                """
                tools:
                  - name: lookup
                    description: Reads an order.
                    http:
                      url: "URL/orders/{{id}}?fields={{fields}}"
                      headers: {X-Order: "order {{id}}"}
                    input: {type: object, required: [id], properties: {id: {type: string}, fields: {type: string}}}
                    output: "response.body.total * 2"
                  - name: note
                    http: {method: POST, url: "URL/notes"}
                    input: {type: object, properties: {text: {type: string}, count: {type: integer}}}
                steps:
                  - {id: find, tool: {name: lookup, with: {id: "{{input.order}}", fields: "a&b"}}}
                  - {id: write, needs: [find], tool: {name: note, with: {text: "total {{steps.find.output}}", count: "{{input.count}}"}}}
                """
                        .replace("URL", FakeTool.url()));
        String id = Api.start("tools/orders", "{\"order\": \"7/../x y\", \"count\": 3}");
        JsonPath run = Api.ended(id);

        assertEquals("succeeded", run.getString("status"), run.prettify());
        assertEquals(42, Api.step(run, "find", null).get("output"), "output maps the answer");
        FakeTool.Request get = FakeTool.requests("orders").get(0);
        assertEquals("GET", get.method());
        assertEquals(
                "/orders/7%2F..%2Fx%20y?fields=a%26b",
                get.uri(),
                "inserted values are percent-encoded: they add no path segment or parameter");
        assertEquals("order 7/../x y", get.header("X-Order"));
        assertEquals(id + "/find/i0/f0", get.header("Idempotency-Key"));
        FakeTool.Request post = FakeTool.requests("notes").get(0);
        assertEquals("POST", post.method());
        assertEquals("application/json", post.header("Content-Type"));
        assertEquals(
                "{\"text\":\"total 42\",\"count\":3}",
                post.body(),
                "the arguments are the body; a whole placeholder keeps its value's type");
        assertEquals(Map.of("id", "n-1"), Api.step(run, "write", null).get("output"));
    }

    @Test
    void argumentsThatDoNotMatchTheInputSchemaFailTheStepBeforeAnyRequest() {
        JsonPath run =
                run(
                        "badargs",
                        """
                        name: lookup
                            http: {url: "URL/badargs/{{id}}"}
                            input: {type: object, required: [id], properties: {id: {type: string, maxLength: 3}}}
                        """,
                        "  - {id: find, retries: {max: 3}, tool: {name: lookup, with: {id: \"{{input.id}}\"}}}\n",
                        "{\"id\": \"toolong\"}");
        assertEquals("failed", run.getString("status"));
        assertTrue(
                error(run, "find")
                        .startsWith(
                                "the arguments of tool 'lookup' do not match its input schema:"),
                error(run, "find"));
        assertEquals(1, Api.step(run, "find", null).get("attempts"), "not retried");
        assertEquals(List.of(), FakeTool.requests("badargs"));
    }

    @Test
    void aClientErrorFailsWithoutRetryAndAServerErrorIsRetriedWithANewKey() {
        FakeTool.script("gone", r -> Reply.status(404, "no such order"));
        JsonPath gone =
                run(
                        "gone",
                        "name: lookup\n    http: {url: \"URL/gone/1\"}\n",
                        "  - {id: find, retries: {max: 3}, tool: {name: lookup}}\n",
                        "{}");
        assertEquals("failed", gone.getString("status"));
        assertEquals("tool 'lookup' answered 404 Not Found: no such order", error(gone, "find"));
        assertEquals(1, FakeTool.requests("gone").size(), "a 4xx is not retried");

        AtomicInteger calls = new AtomicInteger();
        FakeTool.script(
                "flaky",
                r ->
                        calls.incrementAndGet() == 1
                                ? Reply.status(503, "busy")
                                : Reply.json("{\"ok\": true}"));
        JsonPath flaky =
                run(
                        "flaky",
                        "name: lookup\n    http: {url: \"URL/flaky/1\"}\n",
                        "  - {id: find, retries: {max: 3}, tool: {name: lookup}}\n",
                        "{}");
        assertEquals("succeeded", flaky.getString("status"), flaky.prettify());
        List<FakeTool.Request> sent = FakeTool.requests("flaky");
        assertEquals(2, sent.size());
        String runId = flaky.getString("id");
        assertEquals(runId + "/find/i0/f0", sent.get(0).header("Idempotency-Key"));
        assertEquals(runId + "/find/i0/f1", sent.get(1).header("Idempotency-Key"));
    }

    @Test
    void aSlowToolTimesOutAndALargeAnswerIsRefused() {
        FakeTool.script("slow", r -> Reply.json("{}").after(3000));
        JsonPath slow =
                run(
                        "slow",
                        "name: lookup\n    http: {url: \"URL/slow/1\", timeout: 300ms}\n",
                        "  - {id: find, retries: {max: 0}, tool: {name: lookup}}\n",
                        "{}");
        assertEquals("failed", slow.getString("status"));
        assertTrue(error(slow, "find").startsWith("tool 'lookup' timed out"), error(slow, "find"));

        FakeTool.script("big", r -> Reply.json("[" + "1,".repeat(5000) + "1]"));
        JsonPath big =
                run(
                        "big",
                        "name: lookup\n    http: {url: \"URL/big/1\", maxResponseBytes: 1000}\n",
                        "  - {id: find, retries: {max: 2}, tool: {name: lookup}}\n",
                        "{}");
        assertEquals("failed", big.getString("status"));
        assertEquals(
                "tool 'lookup' answered more than 1000 bytes (http.maxResponseBytes)",
                error(big, "find"));
        assertEquals(1, FakeTool.requests("big").size(), "a too large answer is not retried");
    }

    @Test
    void redirectsAreFollowedOnlyWhereTheToolMayGo() {
        FakeTool.script("moved", r -> Reply.redirect("/moved-to/7"));
        FakeTool.script("moved-to", r -> Reply.json("{\"found\": 7}"));
        JsonPath moved =
                run(
                        "moved",
                        "name: lookup\n    http: {url: \"URL/moved/7\"}\n",
                        "  - {id: find, tool: {name: lookup}}\n",
                        "{}");
        assertEquals("succeeded", moved.getString("status"), moved.prettify());
        assertEquals(Map.of("found", 7), Api.step(moved, "find", null).get("output"));

        FakeTool.script(
                "away", r -> Reply.redirect(FakeTool.url().replace("127.0.0.1", "[::1]") + "/x"));
        JsonPath away =
                run(
                        "away",
                        "name: lookup\n    http: {url: \"URL/away/7\"}\n",
                        "  - {id: find, tool: {name: lookup}}\n",
                        "{}");
        assertEquals("failed", away.getString("status"));
        assertTrue(
                error(away, "find")
                        .endsWith(
                                "a redirect to '::1' is not followed: the tool's allowedHosts do"
                                        + " not list it"),
                error(away, "find"));
    }

    @Test
    void anAllowedHostThatIsALoopbackAddressIsRefusedBeforeAnyConnection() {
        // the test config allows the host ::1 but only the address 127.0.0.1/32
        JsonPath run =
                run(
                        "ssrf",
                        "name: lookup\n    http: {url: \"http://[::1]:9/ssrf\"}\n",
                        "  - {id: find, retries: {max: 3}, tool: {name: lookup}}\n",
                        "{}");
        assertEquals("failed", run.getString("status"));
        assertEquals(
                "tool 'lookup' may not reach http://[::1]:9/ssrf: the host '::1' resolves to"
                        + " 0:0:0:0:0:0:0:1, a loopback address; tools reach public addresses only,"
                        + " unless flotilla.executor.tools.allowed-addresses lists the range",
                error(run, "find"));
        assertEquals(1, Api.step(run, "find", null).get("attempts"), "a refusal is not retried");

        JsonPath unlisted =
                run(
                        "unlisted",
                        "name: lookup\n    http: {url: \"http://169.254.169.254/latest/meta-data\"}\n",
                        "  - {id: find, tool: {name: lookup}}\n",
                        "{}");
        assertTrue(
                error(unlisted, "find")
                        .endsWith(
                                "the host '169.254.169.254' is not in the executor's egress"
                                        + " allow-list (flotilla.executor.tools.allowed-hosts:"
                                        + " 127.0.0.1, ::1)"),
                error(unlisted, "find"));
        assertNull(Api.step(unlisted, "find", null).get("output"));
    }
}
