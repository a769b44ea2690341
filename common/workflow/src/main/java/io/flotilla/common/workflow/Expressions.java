package io.flotilla.common.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.cel.common.CelAbstractSyntaxTree;
import dev.cel.common.types.SimpleType;
import dev.cel.compiler.CelCompiler;
import dev.cel.compiler.CelCompilerFactory;
import dev.cel.runtime.CelEvaluationException;
import dev.cel.runtime.CelRuntime;
import dev.cel.runtime.CelRuntimeFactory;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * CEL conditions and {@code {{...}}} templates of a workflow, in one environment: the variables
 * {@code input}, {@code steps} (each {@code steps.<id>.output}) and {@code item}. The validator
 * compiles with it; the executor evaluates with it. A template placeholder is a CEL expression;
 * strings are inserted as they are, other values as JSON.
 */
public final class Expressions {

    static final CelCompiler COMPILER =
            CelCompilerFactory.standardCelCompilerBuilder()
                    .addVar("input", SimpleType.DYN)
                    .addVar("steps", SimpleType.DYN)
                    .addVar("item", SimpleType.DYN)
                    .build();
    public static final Pattern TEMPLATE = Pattern.compile("\\{\\{\\s*(.*?)\\s*}}");
    private static final Pattern PATH =
            Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*");

    /**
     * The most iterations of one comprehension ({@code all}, {@code exists}, {@code map}, {@code
     * filter}) in an evaluation: CEL's own bound on the work an expression may do.
     */
    public static final int MAX_ITERATIONS = 1_000;

    private static final CelRuntime RUNTIME =
            CelRuntimeFactory.standardCelRuntimeBuilder()
                    .setOptions(
                            dev.cel.common.CelOptions.current()
                                    .comprehensionMaxIterations(MAX_ITERATIONS)
                                    .build())
                    .build();

    /** Compiled programs, the 10,000 used most (a program evicted is compiled again). */
    private static final Cache<String, CelRuntime.Program> PROGRAMS =
            Caffeine.newBuilder().maximumSize(10_000).build();

    private Expressions() {}

    /** An expression that could not be evaluated, with a message that names it. */
    public static final class EvaluationException extends RuntimeException {
        public EvaluationException(String message) {
            super(message);
        }
    }

    /**
     * What expressions see: the run's input, finished steps' outputs ({@code id -> output}), and
     * the foreach item.
     */
    public record Scope(JsonNode input, Map<String, JsonNode> outputs, JsonNode item) {

        Map<String, Object> variables() {
            Map<String, Object> steps = new LinkedHashMap<>();
            outputs.forEach(
                    (id, out) -> {
                        Map<String, Object> step = new LinkedHashMap<>();
                        step.put("output", toCel(out));
                        steps.put(id, step);
                    });
            Map<String, Object> vars = new LinkedHashMap<>();
            vars.put("input", toCel(input));
            vars.put("steps", steps);
            vars.put("item", toCel(item));
            return vars;
        }
    }

    /** Evaluates an expression to JSON. */
    public static JsonNode evaluate(String expression, Scope scope) {
        return PATH.matcher(expression).matches()
                ? path(expression, scope)
                : evaluateWithCel(expression, scope);
    }

    /**
     * The compile error of an expression over one variable alone (a tool's output over {@code
     * response}), or null when it compiles.
     */
    public static String compileProblem(String expression, String variable) {
        var compiled = compilerOf(variable).compile(expression);
        return compiled.hasError()
                ? "the CEL expression does not compile: "
                        + compiled.getErrorString().replace('\n', ' ')
                : null;
    }

    /** Evaluates an expression over one variable alone, to JSON. */
    public static JsonNode evaluate(String expression, String variable, JsonNode value) {
        try {
            return toJson(
                    program(variable + "\0" + expression, compilerOf(variable), expression)
                            .eval(Map.of(variable, toCel(value))));
        } catch (CelEvaluationException e) {
            throw new EvaluationException(
                    "'" + expression + "' could not be evaluated: " + e.getMessage());
        }
    }

    private static final Map<String, CelCompiler> SINGLE =
            new java.util.concurrent.ConcurrentHashMap<>();

    private static CelCompiler compilerOf(String variable) {
        return SINGLE.computeIfAbsent(
                variable,
                v ->
                        CelCompilerFactory.standardCelCompilerBuilder()
                                .addVar(v, SimpleType.DYN)
                                .build());
    }

    /** Evaluates a condition; anything but a boolean is an error. */
    public static boolean test(String expression, Scope scope) {
        JsonNode value = evaluate(expression, scope);
        if (!value.isBoolean()) {
            throw new EvaluationException(
                    "'" + expression + "' must be true or false, but is " + value);
        }
        return value.booleanValue();
    }

    /** Renders the {@code {{...}}} placeholders of a template. */
    public static String render(String template, Scope scope) {
        return template == null ? null : parts(template, scope).text();
    }

    /**
     * A rendered template kept in pieces: its own text around the inserted values ({@code literals}
     * has one more entry than {@code values}), so a caller can shorten what was inserted without
     * touching what the author wrote.
     */
    public record Rendered(List<String> literals, List<String> values) {

        public String text() {
            StringBuilder out = new StringBuilder(literals.get(0));
            for (int i = 0; i < values.size(); i++) {
                out.append(values.get(i)).append(literals.get(i + 1));
            }
            return out.toString();
        }

        public Rendered withValues(List<String> replaced) {
            return new Rendered(literals, List.copyOf(replaced));
        }
    }

    /**
     * An object's fields rendered, as tool arguments and sub-workflow inputs are: a string that is
     * one placeholder ({@code "{{input.count}}"}) gives the value itself, with its type; other
     * strings are templates; other values are taken as written.
     */
    public static JsonNode renderFields(JsonNode fields, Scope scope) {
        var out = JsonNodeFactory.instance.objectNode();
        if (fields == null) {
            return out;
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = fields.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> f = it.next();
            JsonNode v = f.getValue();
            if (v.isTextual()) {
                Matcher whole = TEMPLATE.matcher(v.textValue());
                out.set(
                        f.getKey(),
                        whole.matches() && !whole.group(1).contains("{{")
                                ? evaluate(whole.group(1), scope)
                                : JsonNodeFactory.instance.textNode(render(v.textValue(), scope)));
            } else {
                out.set(f.getKey(), v);
            }
        }
        return out;
    }

    /** Renders a template into its literal text and inserted values. */
    public static Rendered parts(String template, Scope scope) {
        Matcher m = TEMPLATE.matcher(template);
        List<String> literals = new ArrayList<>();
        List<String> values = new ArrayList<>();
        int at = 0;
        while (m.find()) {
            literals.add(template.substring(at, m.start()));
            JsonNode value = evaluate(m.group(1), scope);
            values.add(value.isTextual() ? value.textValue() : value.toString());
            at = m.end();
        }
        literals.add(template.substring(at));
        return new Rendered(literals, values);
    }

    /**
     * A plain field path ({@code input.topic}, {@code item}, {@code steps.a.output.title}) read
     * straight from the JSON: what CEL would answer, with the same error for a missing key, at a
     * fraction of the cost — most templates are such paths.
     */
    private static JsonNode path(String expression, Scope scope) {
        String[] parts = expression.split("\\.");
        JsonNode node;
        int i = 1;
        switch (parts[0]) {
            case "input" -> node = scope.input();
            case "item" -> node = scope.item();
            case "steps" -> {
                if (parts.length < 3
                        || !parts[2].equals("output")
                        || !scope.outputs().containsKey(parts[1])) {
                    return evaluateWithCel(expression, scope);
                }
                node = scope.outputs().get(parts[1]);
                i = 3;
            }
            default -> {
                return evaluateWithCel(expression, scope);
            }
        }
        for (; i < parts.length; i++) {
            if (node == null || !node.isObject() || !node.has(parts[i])) {
                return evaluateWithCel(expression, scope);
            }
            node = node.get(parts[i]);
        }
        return node == null ? JsonNodeFactory.instance.nullNode() : node;
    }

    private static JsonNode evaluateWithCel(String expression, Scope scope) {
        try {
            return toJson(program(expression, COMPILER, expression).eval(scope.variables()));
        } catch (CelEvaluationException e) {
            throw new EvaluationException(
                    "'" + expression + "' could not be evaluated: " + e.getMessage());
        }
    }

    private static CelRuntime.Program program(
            String cacheKey, CelCompiler compiler, String expression)
            throws CelEvaluationException {
        CelRuntime.Program p = PROGRAMS.getIfPresent(cacheKey);
        if (p == null) {
            var compiled = compiler.compile(expression);
            if (compiled.hasError()) {
                throw new EvaluationException(
                        "'" + expression + "' does not compile: " + compiled.getErrorString());
            }
            try {
                CelAbstractSyntaxTree ast = compiled.getAst();
                p = RUNTIME.createProgram(ast);
            } catch (dev.cel.common.CelValidationException e) {
                throw new EvaluationException(
                        "'" + expression + "' does not compile: " + e.getMessage());
            }
            PROGRAMS.put(cacheKey, p);
        }
        return p;
    }

    static Object toCel(JsonNode node) {
        if (node == null || node.isNull() || node.isMissingNode()) {
            return dev.cel.common.values.NullValue.NULL_VALUE;
        }
        if (node.isObject()) {
            Map<String, Object> map = new LinkedHashMap<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                map.put(f.getKey(), toCel(f.getValue()));
            }
            return map;
        }
        if (node.isArray()) {
            List<Object> list = new ArrayList<>();
            node.forEach(e -> list.add(toCel(e)));
            return list;
        }
        if (node.isIntegralNumber()) {
            return node.longValue();
        }
        if (node.isNumber()) {
            return node.doubleValue();
        }
        if (node.isBoolean()) {
            return node.booleanValue();
        }
        return node.asText();
    }

    static JsonNode toJson(Object value) {
        if (value == null || value.getClass().getSimpleName().equals("NullValue")) {
            return JsonNodeFactory.instance.nullNode();
        }
        if (value instanceof Map<?, ?> map) {
            var obj = JsonNodeFactory.instance.objectNode();
            map.forEach((k, v) -> obj.set(String.valueOf(k), toJson(v)));
            return obj;
        }
        if (value instanceof Iterable<?> list) {
            var arr = JsonNodeFactory.instance.arrayNode();
            list.forEach(v -> arr.add(toJson(v)));
            return arr;
        }
        if (value instanceof String || value instanceof Number || value instanceof Boolean) {
            return WorkflowSpecs.JSON.valueToTree(value);
        }
        return JsonNodeFactory.instance.textNode(value.toString());
    }
}
