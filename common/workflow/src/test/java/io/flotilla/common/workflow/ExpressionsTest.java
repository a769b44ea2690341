package io.flotilla.common.workflow;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class ExpressionsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode json(String text) throws Exception {
        return JSON.readTree(text);
    }

    private static Expressions.Scope scope() throws Exception {
        return new Expressions.Scope(
                json("{\"topic\": \"tides\", \"depth\": {\"max\": 3}}"),
                Map.of(
                        "outline",
                        json("{\"sections\": [\"a\", \"b\"], \"approved\": false}"),
                        "draft",
                        json("\"plain text\"")),
                json("{\"title\": \"Intro\"}"));
    }

    @Test
    void templatesRenderPathsAndExpressions() throws Exception {
        assertEquals(
                "Outline tides (depth 3): Intro",
                Expressions.render(
                        "Outline {{input.topic}} (depth {{ input.depth.max }}): {{item.title}}",
                        scope()));
        assertEquals(
                "[\"a\",\"b\"] / plain text",
                Expressions.render(
                        "{{steps.outline.output.sections}} / {{steps.draft.output}}", scope()));
        assertEquals(
                "2 sections",
                Expressions.render("{{size(steps.outline.output.sections)}} sections", scope()));
        assertEquals("no placeholders", Expressions.render("no placeholders", scope()));
        Expressions.Rendered parts =
                Expressions.parts("Outline {{input.topic}}: {{item.title}}.", scope());
        assertEquals(
                List.of("Outline ", ": ", "."),
                parts.literals(),
                "the author's text around the placeholders");
        assertEquals(List.of("tides", "Intro"), parts.values());
        assertEquals("Outline TIDES: Intro.", parts.withValues(List.of("TIDES", "Intro")).text());
    }

    @Test
    void conditionsAreCel() throws Exception {
        assertFalse(Expressions.test("steps.outline.output.approved", scope()));
        assertTrue(
                Expressions.test(
                        "size(steps.outline.output.sections) == 2 && input.topic == 'tides'",
                        scope()));
        assertEquals(
                json("[\"a\",\"b\"]"),
                Expressions.evaluate("steps.outline.output.sections", scope()));
    }

    @Test
    void aMissingKeyIsAnErrorThatNamesTheExpressionWhetherItIsAPathOrNot() throws Exception {
        var path =
                assertThrows(
                        Expressions.EvaluationException.class,
                        () -> Expressions.render("{{input.missing}}", scope()));
        assertTrue(
                path.getMessage().contains("'input.missing' could not be evaluated"),
                path.getMessage());
        var cel =
                assertThrows(
                        Expressions.EvaluationException.class,
                        () -> Expressions.test("input.missing == 1", scope()));
        assertTrue(
                cel.getMessage().contains("'input.missing == 1' could not be evaluated"),
                cel.getMessage());
        var unknownStep =
                assertThrows(
                        Expressions.EvaluationException.class,
                        () -> Expressions.evaluate("steps.nope.output", scope()));
        assertTrue(
                unknownStep.getMessage().contains("steps.nope.output"), unknownStep.getMessage());
    }

    @Test
    void aConditionMustBeBoolean() {
        var e =
                assertThrows(
                        Expressions.EvaluationException.class,
                        () -> Expressions.test("input.topic", scope()));
        assertTrue(e.getMessage().contains("must be true or false"), e.getMessage());
    }

    @Test
    void expressionsCannotLoopSoTheirCostIsBoundedByTheirLength() throws Exception {
        // no comprehension macros (all, exists, map, filter): an expression's work grows with its
        // own length, never with the data; MAX_ITERATIONS guards the runtime should they be added
        Expressions.Scope big = new Expressions.Scope(json("{\"n\": [1, 1, 1]}"), Map.of(), null);
        Expressions.EvaluationException e =
                assertThrows(
                        Expressions.EvaluationException.class,
                        () -> Expressions.test("input.n.all(x, x == 1)", big));
        assertTrue(e.getMessage().contains("does not compile"), e.getMessage());
    }
}
