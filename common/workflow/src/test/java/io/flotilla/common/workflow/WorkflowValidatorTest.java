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
                WorkflowSpecs.read(Files.readString(Path.of("../../examples/research-brief.yaml")));
        assertEquals(4, brief.steps().size());
        assertTrue(brief.steps().stream().allMatch(s -> s.kind() == WorkflowSpec.Kind.AGENT));
        WorkflowSpec design =
                WorkflowSpecs.read(
                        Files.readString(Path.of("src/test/resources/design-example.yaml")));
        assertEquals(WorkflowSpec.Kind.APPROVAL, design.steps().get(3).kind());
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
        assertError(e, "steps.c", "give exactly one of agent, tool, approval or workflow");
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
        assertThrows(InvalidWorkflowException.class, () -> WorkflowSpecs.read("steps: []"));
    }
}
