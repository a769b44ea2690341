package io.flotilla.common.workflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.common.problem.Problem.FieldError;
import io.flotilla.common.workflow.WorkflowSpecs.InvalidWorkflowException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class WorkflowValidatorTest {

    private static List<FieldError> errors(String yaml) {
        return WorkflowValidator.validate(WorkflowSpecs.parse(yaml));
    }

    private static void assertError(List<FieldError> errors, String path, String fragment) {
        assertTrue(
                errors.stream()
                        .anyMatch(e -> e.field().equals(path) && e.message().contains(fragment)),
                "expected " + path + ": ..." + fragment + "... in " + errors);
    }

    @Test
    void theExampleWorkflowsAreValid() throws Exception {
        WorkflowSpec brief =
                WorkflowSpecs.read(
                        Files.readString(Path.of("../../examples/research-brief.yaml")),
                        WorkflowLimits.DEFAULT);
        assertEquals(4, brief.steps().size());
        assertTrue(brief.steps().stream().allMatch(s -> s.kind() == WorkflowSpec.Kind.AGENT));
        WorkflowSpec design =
                WorkflowSpecs.read(
                        Files.readString(Path.of("src/test/resources/design-example.yaml")),
                        WorkflowLimits.DEFAULT);
        assertEquals(WorkflowSpec.Kind.APPROVAL, design.steps().get(3).kind());
        WorkflowSpec desk =
                WorkflowSpecs.read(
                        Files.readString(Path.of("../../examples/support-desk.yaml")),
                        WorkflowLimits.DEFAULT);
        assertEquals(
                List.of(
                        WorkflowSpec.Kind.TOOL,
                        WorkflowSpec.Kind.AGENT,
                        WorkflowSpec.Kind.APPROVAL,
                        WorkflowSpec.Kind.WORKFLOW),
                desk.steps().stream().map(WorkflowSpec.Step::kind).toList());
        for (String example : List.of("release-gate", "reply-polish")) {
            WorkflowSpecs.read(
                    Files.readString(Path.of("../../examples/" + example + ".yaml")),
                    WorkflowLimits.DEFAULT);
        }
    }

    @Test
    void unknownNeedsSuggestTheClosestStep() {
        List<FieldError> e =
                errors(
                        """
                defaults: {model: fast}
                steps:
                  - {id: outline, agent: {prompt: x}}
                  - {id: write, needs: [outlin], agent: {prompt: y}}
                """);
        assertError(e, "steps.write.needs[0]", "unknown step 'outlin'; did you mean 'outline'?");
    }

    @Test
    void cyclesAreNamed() {
        List<FieldError> e =
                errors(
                        """
                defaults: {model: fast}
                steps:
                  - {id: a, needs: [c], agent: {prompt: x}}
                  - {id: b, needs: [a], agent: {prompt: x}}
                  - {id: c, needs: [b], agent: {prompt: x}}
                """);
        assertEquals(
                1, e.stream().filter(x -> x.message().contains("cycle")).count(), e.toString());
        assertTrue(
                e.stream()
                        .anyMatch(
                                x ->
                                        x.message()
                                                .contains(
                                                        "the needs form a cycle: a -> c -> b -> a")),
                e.toString());
    }

    @Test
    void duplicateIdsAndBadIdsAreReported() {
        List<FieldError> e =
                errors(
                        """
                defaults: {model: fast}
                steps:
                  - {id: a, agent: {prompt: x}}
                  - {id: a, agent: {prompt: x}}
                  - {id: Bad-Id, agent: {prompt: x}}
                """);
        assertError(e, "steps[1].id", "duplicate id 'a' (also steps[0])");
        assertError(e, "steps[2].id", "is not a valid id");
    }

    @Test
    void celThatDoesNotCompileIsReportedWithItsPath() {
        List<FieldError> e =
                errors(
                        """
                defaults: {model: fast}
                steps:
                  - {id: a, agent: {prompt: x}}
                  - {id: b, needs: [a], when: "steps.a.output.ok ==", agent: {prompt: x}}
                  - {id: c, needs: [a], loop: {maxIterations: 2, until: "steps.c.output.done &&& true"}, agent: {prompt: x}}
                """);
        assertError(e, "steps.b.when", "does not compile");
        assertError(e, "steps.c.loop.until", "does not compile");
    }

    @Test
    void templatesMayOnlyReferenceStepsThatRunBefore() {
        List<FieldError> e =
                errors(
                        """
                defaults: {model: fast}
                steps:
                  - {id: a, agent: {prompt: "{{input.topic}}"}}
                  - {id: b, agent: {prompt: "use {{steps.a.output}}"}}
                  - {id: c, needs: [a], agent: {prompt: "use {{steps.nope.output}} and {{item}} and {{secrets.key}}"}}
                """);
        assertError(
                e,
                "steps.b.agent.prompt",
                "references step 'a', which does not run before 'b'; add it to needs");
        assertError(e, "steps.c.agent.prompt", "references unknown step 'nope'");
        assertError(e, "steps.c.agent.prompt", "exists only in steps with foreach");
        assertError(e, "steps.c.agent.prompt", "must start with input, item or steps.<id>.output");
    }

    @Test
    void invalidSchemasAreReported() {
        List<FieldError> e =
                errors(
                        """
                input: {schema: {type: objekt, required: [topic], properties: {name: {type: string}}}}
                defaults: {model: fast}
                steps:
                  - {id: a, agent: {prompt: x, output: {schema: {type: object, properties: {n: {type: [string, wat]}}}}}}
                """);
        assertError(e, "input.schema.type", "is not a JSON Schema type");
        assertError(e, "input.schema.required", "'topic' is required but not among the properties");
        assertError(
                e, "steps.a.agent.output.schema.properties.n.type", "is not a JSON Schema type");
    }

    @Test
    void everyProblemIsReportedAtOnce() {
        List<FieldError> e =
                errors(
                        """
                budget: {maxTokens: 0}
                context: {strategy: forget}
                steps:
                  - {id: a, timeout: soon, maxParallel: 3, agent: {}}
                  - {id: b, needs: [zzz], tool: {name: search}}
                  - {id: c}
                """);
        assertError(e, "budget.maxTokens", "positive");
        assertError(e, "context.strategy", "summarize, window or fail");
        assertError(e, "context.maxTokens", "set the most tokens");
        assertError(e, "steps.a.timeout", "is not a duration");
        assertError(e, "steps.a.maxParallel", "only applies with foreach");
        assertError(e, "steps.a.agent.prompt", "is required");
        assertError(e, "steps.a.agent.model", "defaults.model");
        assertError(e, "steps.b.tool.name", "unknown tool 'search'");
        assertError(e, "steps.c", "give exactly one of agent, tool, approval, workflow or wait");
        assertTrue(e.size() >= 10, e.toString());
    }

    @Test
    void unknownFieldsAndWrongTypesFailParsingWithTheirPath() {
        InvalidWorkflowException unknown =
                assertThrows(
                        InvalidWorkflowException.class,
                        () -> WorkflowSpecs.parse("steps: [{id: a, agnet: {prompt: x}}]"));
        assertTrue(
                unknown.errors().get(0).field().equals("steps[0].agnet")
                        && unknown.errors().get(0).message().contains("known: agent"),
                unknown.errors().toString());
        InvalidWorkflowException type =
                assertThrows(
                        InvalidWorkflowException.class,
                        () ->
                                WorkflowSpecs.parse(
                                        "steps: [{id: a, maxParallel: many, agent: {prompt: x}}]"));
        assertEquals("steps[0].maxParallel", type.errors().get(0).field());
        assertThrows(
                InvalidWorkflowException.class,
                () -> WorkflowSpecs.read("steps: []", WorkflowLimits.DEFAULT));
    }

    @Test
    void schemasCannotReachOutsideTheWorkflowOrStallTheExecutor() {
        List<FieldError> e =
                errors(
                        """
                defaults: {model: fast}
                input:
                  schema:
                    $id: https://attacker.example/s
                    $schema: http://json-schema.org/draft-04/schema#
                    type: object
                    properties:
                      a: {$ref: "https://attacker.example/remote.json"}
                      b: {$ref: "file:///etc/passwd"}
                      c: {$ref: "#/$defs/local"}
                      d: {type: string, pattern: '^(a+)+\\1$'}
                      e: {type: string, enum: [{$ref: "data, not a reference"}]}
                    patternProperties: {"(?=x)": {type: string}}
                    $defs: {local: {type: string, pattern: "^[a-z]+$"}}
                steps:
                  - {id: a, agent: {prompt: x}}
                """);
        assertError(e, "input.schema.$id", "not allowed");
        assertError(e, "input.schema.$schema", "2020-12");
        assertError(e, "input.schema.properties.a.$ref", "only references inside this schema");
        assertError(e, "input.schema.properties.b.$ref", "only references inside this schema");
        assertError(e, "input.schema.properties.d.pattern", "linear-time engine");
        assertError(e, "input.schema.patternProperties.(?=x)", "lookaround");
        assertEquals(
                6, e.size(), "the local reference, the RE2 pattern and enum data are fine: " + e);
    }

    @Test
    void schemasHaveASizeAndDepthLimit() {
        String deep = "{type: array, items: ".repeat(40) + "{type: string}" + "}".repeat(40);
        assertError(
                errors(
                        "defaults: {model: fast}\ninput: {schema: "
                                + deep
                                + "}\nsteps: [{id: a, agent: {prompt: x}}]"),
                "input.schema",
                "deeper than 32 levels");
        String wide =
                "{type: object, properties: {"
                        + java.util.stream.IntStream.range(0, 3000)
                                .mapToObj(i -> "p" + i + ": {type: string}")
                                .collect(java.util.stream.Collectors.joining(", "))
                        + "}}";
        assertError(
                errors(
                        "defaults: {model: fast}\ninput: {schema: "
                                + wide
                                + "}\nsteps: [{id: a, agent: {prompt: x}}]"),
                "input.schema",
                "at most 65536");
    }

    @Test
    void limitsAndDurationsAreEnforced() {
        String steps =
                java.util.stream.IntStream.range(0, 5)
                        .mapToObj(i -> "  - {id: s" + i + ", agent: {prompt: x}}")
                        .collect(java.util.stream.Collectors.joining("\n"));
        List<FieldError> tooMany =
                WorkflowValidator.validate(
                        WorkflowSpecs.parse("defaults: {model: fast}\nsteps:\n" + steps),
                        new WorkflowLimits(4, 10));
        assertError(tooMany, "steps", "at most 4 (limits.steps)");
        List<FieldError> e =
                WorkflowValidator.validate(
                        WorkflowSpecs.parse(
                                """
                defaults: {model: fast, timeout: 99999999999999999999s}
                steps:
                  - {id: a, timeout: 2h, agent: {prompt: x}}
                  - {id: b, timeout: 0s, agent: {prompt: x}}
                  - {id: c, loop: {maxIterations: 11, until: "true"}, agent: {prompt: x}}
                """),
                        new WorkflowLimits(100, 10));
        assertError(e, "defaults.timeout", "is not a duration");
        assertError(e, "steps.a.timeout", "at most 1h");
        assertError(e, "steps.b.timeout", "more than 0");
        assertError(e, "steps.c.loop.maxIterations", "1 to 10 iterations");
        String longCel = "1 == " + "1 + ".repeat(300) + "1";
        List<FieldError> expressions =
                errors(
                        "defaults: {model: fast}\nsteps:\n  - {id: a, when: \""
                                + longCel
                                + "\", agent: {prompt: \"{{ "
                                + longCel
                                + " }}\"}}");
        assertError(expressions, "steps.a.when", "more than 1000 characters");
        assertError(expressions, "steps.a.agent.prompt", "more than 1000 characters");
    }

    @Test
    void toolsAreCheckedForFixedHostsArgumentTemplatesHeadersAndSecrets() {
        List<FieldError> e =
                errors(
                        """
                defaults: {model: fast}
                tools:
                  - name: lookup
                    http:
                      url: "https://{{host}}/orders/{{id}}"
                      headers: {Idempotency-Key: x, X-Order: "{{order}}", "bad header": y}
                      timeout: 2h
                    input: {type: object, properties: {id: {type: string}}}
                    output: "response.body.("
                    secrets:
                      - {header: Authorization, env: DATABASE_PASSWORD}
                      - {header: X-Order, secretKeyRef: {name: orders, key: token}}
                      - {header: X-Both, env: FLOTILLA_TOOL_A, secretKeyRef: {name: a, key: b}}
                  - name: user_url
                    http: {url: "https://user:pw@api.example.com/x", allowedHosts: [other.example.com]}
                  - name: ok
                    http: {method: POST, url: "https://api.example.com/notes?q={{q}}"}
                    secrets: [{header: Authorization, prefix: "Bearer ", secretKeyRef: {name: notes-api, key: token}}]
                steps:
                  - {id: a, agent: {prompt: x, tools: [ok, nope], maxToolCalls: 101}}
                  - {id: b, agent: {prompt: x, maxToolCalls: 3}}
                  - {id: c, tool: {name: ok, with: [1]}}
                """);
        assertError(e, "tools[0].http.url", "the scheme, host and port are fixed");
        assertError(
                e,
                "tools[0].http.url",
                "'{{host}}' names no property of the tool's input; it has id");
        assertError(e, "tools[0].http.headers.Idempotency-Key", "is set by the executor");
        assertError(e, "tools[0].http.headers.bad header", "is not a header name");
        assertError(e, "tools[0].http.headers.X-Order", "'{{order}}' names no property");
        assertError(e, "tools[0].http.timeout", "out of range");
        assertError(e, "tools[0].output", "does not compile");
        assertError(
                e, "tools[0].secrets[0].env", "only environment variables named FLOTILLA_TOOL_");
        assertError(e, "tools[0].secrets[1].header", "'X-Order' is already set by the tool");
        assertError(e, "tools[0].secrets[2]", "give exactly one of secretKeyRef or env");
        assertError(e, "tools[1].http.url", "holds no user or password");
        assertError(e, "tools[1].http.allowedHosts", "must list the URL's host 'api.example.com'");
        assertError(e, "steps.a.agent.tools[1]", "unknown tool 'nope'");
        assertError(e, "steps.a.agent.maxToolCalls", "must be 1 to 100");
        assertError(e, "steps.b.agent.maxToolCalls", "only applies with tools");
        assertError(e, "steps.c.tool.with", "must be an object");
        assertTrue(
                e.stream().noneMatch(x -> x.field().startsWith("tools[2]")),
                "a valid tool has no error: " + e);
    }
}
