package io.flotilla.common.workflow;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.common.problem.Problem.FieldError;
import io.flotilla.common.time.Durations;
import io.flotilla.common.workflow.WorkflowSpec.Step;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Checks a workflow and reports every problem at once, each with its path and what to do: unknown
 * {@code needs} (with "did you mean"), cycles (naming them), duplicate ids, CEL that does not
 * compile, templates and expressions that reference unknown or unreachable steps, invalid schemas,
 * unknown tools, out-of-range settings. The executor and the operator both use it.
 */
public final class WorkflowValidator {

    private static final Pattern ID = Pattern.compile("[a-z][a-z0-9_]{0,62}");
    private static final Pattern STEP_REF = Pattern.compile("\\bsteps\\.([A-Za-z_][A-Za-z0-9_]*)");
    private static final Set<String> TYPES =
            Set.of("object", "array", "string", "number", "integer", "boolean", "null");

    /** The one JSON Schema dialect a workflow's schemas may name (or leave unnamed). */
    static final String DIALECT = "https://json-schema.org/draft/2020-12/schema";

    /** Largest JSON Schema, in characters of JSON, and its deepest nesting. */
    static final int SCHEMA_CHARS = 65_536;

    static final int SCHEMA_DEPTH = 32;

    /**
     * Longest CEL expression or template placeholder: with no loops in CEL, this bounds the work of
     * each evaluation (the engine evaluates {@code when} and {@code foreach} holding the run's
     * lock).
     */
    static final int EXPRESSION_CHARS = 1_000;

    /** The longest timeout of a step's call, and the longest wait (an approval's, a timer's). */
    static final java.time.Duration LONGEST_CALL = java.time.Duration.ofHours(1);

    static final java.time.Duration LONGEST_WAIT = java.time.Duration.ofDays(30);

    private static final Pattern ARGUMENT_PATH =
            Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*");
    private static final Pattern HEADER = Pattern.compile("[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}");
    private static final Set<String> RESERVED_HEADERS =
            Set.of(
                    "host",
                    "content-length",
                    "content-type",
                    "transfer-encoding",
                    "connection",
                    "idempotency-key");
    private static final Pattern SECRET_ENV = Pattern.compile("FLOTILLA_TOOL_[A-Z0-9_]{1,64}");
    private static final Pattern SECRET_NAME =
            Pattern.compile("[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?");
    private static final Pattern SECRET_KEY = Pattern.compile("[-._a-zA-Z0-9]{1,253}");

    /** Keywords whose values are data, not schemas: they are not searched for references. */
    private static final Set<String> DATA = Set.of("enum", "const", "default", "examples");

    private final WorkflowSpec spec;
    private final WorkflowLimits limits;
    private final List<FieldError> errors = new ArrayList<>();
    private final Map<String, Integer> index = new LinkedHashMap<>();
    private final Map<String, Set<String>> ancestors = new HashMap<>();

    private WorkflowValidator(WorkflowSpec spec, WorkflowLimits limits) {
        this.spec = spec;
        this.limits = limits;
    }

    /** Every problem of the spec under the default limits; empty when it is valid. */
    public static List<FieldError> validate(WorkflowSpec spec) {
        return validate(spec, WorkflowLimits.DEFAULT);
    }

    /** Every problem of the spec; empty when it is valid. */
    public static List<FieldError> validate(WorkflowSpec spec, WorkflowLimits limits) {
        WorkflowValidator v = new WorkflowValidator(spec, limits);
        v.run();
        return List.copyOf(v.errors);
    }

    private void run() {
        if (spec.steps().isEmpty()) {
            error("steps", "a workflow needs at least one step");
        }
        if (spec.steps().size() > limits.steps()) {
            error(
                    "steps",
                    "has "
                            + spec.steps().size()
                            + " steps; a workflow may have at most "
                            + limits.steps()
                            + " (limits.steps)");
            return; // the graph checks below grow with the number of steps
        }
        for (int i = 0; i < spec.steps().size(); i++) {
            Step s = spec.steps().get(i);
            if (s.id() == null || !ID.matcher(s.id()).matches()) {
                error(
                        "steps[" + i + "].id",
                        "'"
                                + s.id()
                                + "' is not a valid id: use 1 to 63 lower-case letters, digits and '_',"
                                + " starting with a letter (ids are used in CEL expressions)");
            } else if (index.containsKey(s.id())) {
                error(
                        "steps[" + i + "].id",
                        "duplicate id '"
                                + s.id()
                                + "' (also steps["
                                + index.get(s.id())
                                + "]); ids must be unique");
            } else {
                index.put(s.id(), i);
            }
        }
        cycles();
        for (Step s : spec.steps()) {
            Set<String> before = new HashSet<>();
            collectAncestors(s.id(), before);
            before.remove(s.id()); // a cycle would make a step its own ancestor
            ancestors.put(s.id(), before);
        }
        for (int i = 0; i < spec.steps().size(); i++) {
            step(i, spec.steps().get(i));
        }
        if (spec.input() != null) {
            schema("input.schema", spec.input().schema());
        }
        tools();
        settings();
    }

    private void step(int i, Step s) {
        String at =
                s.id() != null && ID.matcher(s.id()).matches()
                        ? "steps." + s.id()
                        : "steps[" + i + "]";
        if (s.kind() == null) {
            error(at, "give exactly one of agent, tool, approval, workflow or wait");
        }
        for (int n = 0; n < s.needs().size(); n++) {
            String need = s.needs().get(n);
            if (!index.containsKey(need)) {
                error(at + ".needs[" + n + "]", "unknown step '" + need + "'" + suggestion(need));
            }
        }
        Set<String> before = ancestors.getOrDefault(s.id(), Set.of());
        cel(at + ".when", s.when(), before, s);
        cel(at + ".foreach", s.foreach(), before, s);
        if (s.loop() != null) {
            if (s.loop().maxIterations() == null
                    || s.loop().maxIterations() < 1
                    || s.loop().maxIterations() > limits.loopIterations()) {
                error(
                        at + ".loop.maxIterations",
                        "is required: 1 to "
                                + limits.loopIterations()
                                + " iterations (limits.loop-iterations)");
            }
            Set<String> withSelf = new HashSet<>(before);
            withSelf.add(s.id());
            if (s.loop().until() == null) {
                error(at + ".loop.until", "is required: a CEL condition that ends the loop");
            }
            cel(at + ".loop.until", s.loop().until(), withSelf, s);
        }
        if (s.maxParallel() != null && (s.foreach() == null || s.maxParallel() < 1)) {
            error(
                    at + ".maxParallel",
                    s.foreach() == null ? "only applies with foreach" : "must be at least 1");
        }
        duration(at + ".timeout", s.timeout(), LONGEST_CALL);
        if (s.retries() != null
                && (s.retries().max() == null || s.retries().max() < 0 || s.retries().max() > 10)) {
            error(at + ".retries.max", "must be 0 to 10");
        }
        if (s.agent() != null) {
            if (s.agent().prompt() == null || s.agent().prompt().isBlank()) {
                error(at + ".agent.prompt", "is required");
            }
            if (s.agent().model() == null
                    && (spec.defaults() == null || spec.defaults().model() == null)) {
                error(
                        at + ".agent.model",
                        "set agent.model or defaults.model (a model alias of the gateway)");
            }
            templates(at + ".agent.system", s.agent().system(), before, s);
            templates(at + ".agent.prompt", s.agent().prompt(), before, s);
            if (s.agent().output() != null) {
                schema(at + ".agent.output.schema", s.agent().output().schema());
            }
            for (int n = 0; n < s.agent().tools().size(); n++) {
                knownTool(at + ".agent.tools[" + n + "]", s.agent().tools().get(n));
            }
            if (s.agent().maxToolCalls() != null) {
                if (s.agent().tools().isEmpty()) {
                    error(at + ".agent.maxToolCalls", "only applies with tools");
                } else if (s.agent().maxToolCalls() < 1 || s.agent().maxToolCalls() > 100) {
                    error(at + ".agent.maxToolCalls", "must be 1 to 100");
                }
            }
        }
        if (s.tool() != null) {
            knownTool(at + ".tool.name", s.tool().name());
            fields(at + ".tool.with", s.tool().with(), "the tool's arguments by name", before, s);
        }
        if (s.approval() != null) {
            duration(at + ".approval.timeout", s.approval().timeout(), LONGEST_WAIT);
            String onTimeout = s.approval().onTimeout();
            if (onTimeout != null && !onTimeout.equals("approve") && !onTimeout.equals("reject")) {
                error(at + ".approval.onTimeout", "use approve or reject");
            } else if (onTimeout != null && s.approval().timeout() == null) {
                error(at + ".approval.onTimeout", "only applies with a timeout");
            }
            if (s.loop() != null) {
                error(at + ".loop", "an approval step cannot loop: a decision is taken once");
            }
        }
        if (s.workflow() != null) {
            if (s.workflow().name() == null || s.workflow().name().isBlank()) {
                error(at + ".workflow.name", "is required: the workflow to run");
            }
            fields(
                    at + ".workflow.input",
                    s.workflow().input(),
                    "the child run's input",
                    before,
                    s);
        }
        if (s.timer() != null) {
            if ((s.timer().duration() == null) == (s.timer().until() == null)) {
                error(at + ".wait", "give exactly one of duration or until");
            }
            duration(at + ".wait.duration", s.timer().duration(), LONGEST_WAIT);
            templates(at + ".wait.until", s.timer().until(), before, s);
            if (s.loop() != null) {
                error(
                        at + ".loop",
                        "a wait step cannot loop: its duration counts from the step's first start");
            }
        }
    }

    /**
     * Fields rendered by {@link Expressions#renderFields} (tool arguments, a child run's input): an
     * object whose string values are templates.
     */
    private void fields(String path, JsonNode fields, String what, Set<String> before, Step s) {
        if (fields == null) {
            return;
        }
        if (!fields.isObject()) {
            error(path, "must be an object: " + what);
            return;
        }
        fields.fields()
                .forEachRemaining(
                        f ->
                                templates(
                                        path + "." + f.getKey(),
                                        f.getValue().asText(null),
                                        before,
                                        s));
    }

    private void knownTool(String path, String name) {
        if (spec.tools().stream().noneMatch(t -> t.name() != null && t.name().equals(name))) {
            error(
                    path,
                    "unknown tool '"
                            + name
                            + "'; declared: "
                            + spec.tools().stream().map(WorkflowSpec.Tool::name).toList());
        }
    }

    private void cel(String path, String expression, Set<String> visible, Step s) {
        if (expression == null) {
            return;
        }
        if (expression.length() > EXPRESSION_CHARS) {
            error(path, "the expression has more than " + EXPRESSION_CHARS + " characters");
            return;
        }
        var result = Expressions.COMPILER.compile(expression);
        if (result.hasError()) {
            error(
                    path,
                    "the CEL expression does not compile: "
                            + result.getErrorString().replace('\n', ' '));
            return;
        }
        references(path, expression, visible, s);
    }

    private void templates(String path, String text, Set<String> visible, Step s) {
        if (text == null) {
            return;
        }
        int open = text.split("\\{\\{", -1).length - 1;
        int close = text.split("}}", -1).length - 1;
        if (open != close) {
            error(path, "unbalanced '{{' and '}}' in the template");
            return;
        }
        Matcher m = Expressions.TEMPLATE.matcher(text);
        while (m.find()) {
            String ref = m.group(1);
            if (ref.length() > EXPRESSION_CHARS) {
                error(path, "a placeholder has more than " + EXPRESSION_CHARS + " characters");
                continue;
            }
            String root = ref.split("[.\\[\\s]", 2)[0];
            switch (root) {
                case "input" -> {}
                case "item" -> {
                    if (s.foreach() == null) {
                        error(
                                path,
                                "'{{"
                                        + ref
                                        + "}}' uses item, which exists only in steps with foreach");
                    }
                }
                case "steps" -> references(path, ref, visible, s);
                default ->
                        error(
                                path,
                                "'{{"
                                        + ref
                                        + "}}' must start with input, item or steps.<id>.output");
            }
        }
    }

    private void references(String path, String text, Set<String> visible, Step s) {
        Matcher m = STEP_REF.matcher(text);
        while (m.find()) {
            String id = m.group(1);
            if (!index.containsKey(id)) {
                error(path, "references unknown step '" + id + "'" + suggestion(id));
            } else if (!visible.contains(id)) {
                error(
                        path,
                        "references step '"
                                + id
                                + "', which does not run before '"
                                + s.id()
                                + "'; add it to needs");
            }
        }
    }

    private void cycles() {
        Map<String, Integer> state = new HashMap<>();
        List<String> path = new ArrayList<>();
        Set<String> reported = new HashSet<>();
        for (String id : index.keySet()) {
            visit(id, state, path, reported);
        }
    }

    private void visit(
            String id, Map<String, Integer> state, List<String> path, Set<String> reported) {
        Integer st = state.get(id);
        if (st != null && st == 2) {
            return;
        }
        if (st != null && st == 1) {
            List<String> cycle = new ArrayList<>(path.subList(path.indexOf(id), path.size()));
            cycle.add(id);
            if (reported.add(new java.util.TreeSet<>(cycle).toString())) {
                error(
                        "steps." + id + ".needs",
                        "the needs form a cycle: "
                                + String.join(" -> ", cycle)
                                + "; remove one of these needs");
            }
            return;
        }
        state.put(id, 1);
        path.add(id);
        for (String need : spec.steps().get(index.get(id)).needs()) {
            if (index.containsKey(need)) {
                visit(need, state, path, reported);
            }
        }
        path.remove(path.size() - 1);
        state.put(id, 2);
    }

    private void collectAncestors(String id, Set<String> seen) {
        Integer i = id == null ? null : index.get(id);
        if (i == null) {
            return;
        }
        for (String need : spec.steps().get(i).needs()) {
            if (index.containsKey(need) && seen.add(need)) {
                collectAncestors(need, seen);
            }
        }
    }

    private void schema(String path, JsonNode schema) {
        if (schema == null || schema.isNull()) {
            return;
        }
        if (!schema.isObject()) {
            error(path, "a JSON Schema must be an object, e.g. {type: object, properties: {...}}");
            return;
        }
        int chars = schema.toString().length();
        if (chars > SCHEMA_CHARS) {
            error(
                    path,
                    "is "
                            + chars
                            + " characters of JSON; a schema may have at most "
                            + SCHEMA_CHARS);
            return;
        }
        if (!contained(path, schema, 0)) {
            error(path, "nests deeper than " + SCHEMA_DEPTH + " levels");
        }
        shape(path, schema);
    }

    /**
     * A schema that cannot reach outside the workflow or stall the executor: references only to its
     * own {@code #...} parts, no {@code $id}, the 2020-12 dialect only, regular expressions RE2 can
     * run (linear time: no backreferences or lookaround), at most {@link #SCHEMA_DEPTH} levels
     * deep.
     */
    private boolean contained(String path, JsonNode node, int depth) {
        if (depth > SCHEMA_DEPTH) {
            return false;
        }
        boolean shallow = true;
        if (node.isArray()) {
            for (int i = 0; i < node.size() && shallow; i++) {
                shallow = contained(path + "[" + i + "]", node.get(i), depth + 1);
            }
            return shallow;
        }
        if (!node.isObject()) {
            return true;
        }
        var fields = node.fields();
        while (fields.hasNext()) {
            var f = fields.next();
            String at = path + "." + f.getKey();
            JsonNode v = f.getValue();
            switch (f.getKey()) {
                case "$ref", "$dynamicRef" -> {
                    if (!v.isTextual() || !v.asText().startsWith("#")) {
                        error(
                                at,
                                "only references inside this schema (#/...) are allowed; the executor loads no other documents");
                    }
                }
                case "$id" ->
                        error(at, "is not allowed: schemas are anonymous parts of a workflow");
                case "$schema" -> {
                    if (!DIALECT.equals(v.asText())) {
                        error(at, "leave it out or use " + DIALECT);
                    }
                }
                case "pattern" -> regex(at, v);
                case "patternProperties" -> {
                    if (v.isObject()) {
                        v.fieldNames().forEachRemaining(name -> regex(at + "." + name, name));
                    }
                }
                default -> {}
            }
            if (!DATA.contains(f.getKey()) && !contained(at, v, depth + 1)) {
                return false;
            }
        }
        return true;
    }

    private void regex(String path, JsonNode value) {
        if (!value.isTextual()) {
            error(path, "must be a regular expression");
            return;
        }
        regex(path, value.asText());
    }

    private void regex(String path, String regex) {
        try {
            com.google.re2j.Pattern.compile(regex);
        } catch (com.google.re2j.PatternSyntaxException e) {
            error(
                    path,
                    "'"
                            + regex
                            + "' is not a regular expression the linear-time engine (RE2) runs: "
                            + e.getDescription()
                            + " (backreferences and lookaround are not supported)");
        }
    }

    private void shape(String path, JsonNode schema) {
        if (schema == null || schema.isNull()) {
            return;
        }
        if (!schema.isObject()) {
            error(path, "a JSON Schema must be an object, e.g. {type: object, properties: {...}}");
            return;
        }
        JsonNode type = schema.get("type");
        if (type != null) {
            boolean ok =
                    type.isTextual()
                            ? TYPES.contains(type.asText())
                            : type.isArray()
                                    && type.size() > 0
                                    && java.util.stream.StreamSupport.stream(
                                                    type.spliterator(), false)
                                            .allMatch(t -> TYPES.contains(t.asText()));
            if (!ok) {
                error(
                        path + ".type",
                        "'"
                                + type
                                + "' is not a JSON Schema type; use one of "
                                + new java.util.TreeSet<>(TYPES));
            }
        }
        JsonNode properties = schema.get("properties");
        if (properties != null) {
            if (!properties.isObject()) {
                error(path + ".properties", "must map property names to schemas");
            } else {
                properties
                        .fields()
                        .forEachRemaining(
                                f -> shape(path + ".properties." + f.getKey(), f.getValue()));
            }
        }
        JsonNode required = schema.get("required");
        if (required != null) {
            if (!required.isArray()) {
                error(path + ".required", "must be a list of property names");
            } else {
                for (JsonNode r : required) {
                    if (!r.isTextual()
                            || (properties != null
                                    && properties.isObject()
                                    && !properties.has(r.asText()))) {
                        error(
                                path + ".required",
                                "'" + r.asText() + "' is required but not among the properties");
                    }
                }
            }
        }
        if (schema.has("items")) {
            shape(path + ".items", schema.get("items"));
        }
        if (schema.has("enum") && (!schema.get("enum").isArray() || schema.get("enum").isEmpty())) {
            error(path + ".enum", "must be a non-empty list of values");
        }
    }

    private void tools() {
        Set<String> names = new HashSet<>();
        for (int i = 0; i < spec.tools().size(); i++) {
            WorkflowSpec.Tool t = spec.tools().get(i);
            String at = "tools[" + i + "]";
            if (t.name() == null || !ID.matcher(t.name()).matches()) {
                error(at + ".name", "is required: lower-case letters, digits and '_'");
            } else if (!names.add(t.name())) {
                error(at + ".name", "duplicate tool '" + t.name() + "'");
            }
            if (t.input() != null) {
                schema(at + ".input", t.input());
            }
            if (t.output() != null) {
                if (t.output().length() > EXPRESSION_CHARS) {
                    error(
                            at + ".output",
                            "the expression has more than " + EXPRESSION_CHARS + " characters");
                } else {
                    String problem = Expressions.compileProblem(t.output(), "response");
                    if (problem != null) {
                        error(
                                at + ".output",
                                problem
                                        + " (it sees response.status, response.headers, response.body)");
                    }
                }
            }
            if (t.http() == null || t.http().url() == null) {
                error(at + ".http.url", "is required");
                continue;
            }
            WorkflowSpec.Http http = t.http();
            if (http.method() != null
                    && !Set.of("GET", "POST", "PUT", "PATCH", "DELETE").contains(http.method())) {
                error(at + ".http.method", "use GET, POST, PUT, PATCH or DELETE");
            }
            String url = http.url();
            java.net.URI uri;
            try {
                uri = java.net.URI.create(url.replaceAll("\\{\\{.*?}}", "x"));
            } catch (IllegalArgumentException e) {
                uri = null;
            }
            if (uri == null
                    || uri.getHost() == null
                    || !("http".equals(uri.getScheme()) || "https".equals(uri.getScheme()))) {
                error(at + ".http.url", "is not an absolute http(s) URL");
            } else {
                int authorityEnd = url.indexOf('/', url.indexOf("://") + 3);
                String authority = authorityEnd < 0 ? url : url.substring(0, authorityEnd);
                if (authority.contains("{{") || uri.getUserInfo() != null) {
                    error(
                            at + ".http.url",
                            "the scheme, host and port are fixed: templates may fill the path and"
                                    + " query only, and a URL holds no user or password (use"
                                    + " secrets)");
                }
                if (!http.allowedHosts().isEmpty()
                        && !http.allowedHosts().contains(uri.getHost())) {
                    error(
                            at + ".http.allowedHosts",
                            "must list the URL's host '"
                                    + uri.getHost()
                                    + "' (the tool reaches only these hosts, redirects included)");
                }
            }
            toolTemplates(at + ".http.url", url, t);
            Set<String> headerNames = new HashSet<>();
            http.headers()
                    .forEach(
                            (name, value) -> {
                                header(at + ".http.headers." + name, name);
                                headerNames.add(name.toLowerCase(java.util.Locale.ROOT));
                                toolTemplates(at + ".http.headers." + name, value, t);
                            });
            duration(at + ".http.timeout", http.timeout(), LONGEST_CALL);
            if (http.maxResponseBytes() != null && http.maxResponseBytes() < 1) {
                error(at + ".http.maxResponseBytes", "must be at least 1");
            }
            for (int j = 0; j < t.secrets().size(); j++) {
                WorkflowSpec.SecretHeader secret = t.secrets().get(j);
                String sat = at + ".secrets[" + j + "]";
                if (secret.header() == null) {
                    error(sat + ".header", "is required: the header the secret is sent in");
                } else {
                    header(sat + ".header", secret.header());
                    if (!headerNames.add(secret.header().toLowerCase(java.util.Locale.ROOT))) {
                        error(
                                sat + ".header",
                                "'" + secret.header() + "' is already set by the tool");
                    }
                }
                if ((secret.env() == null) == (secret.secretKeyRef() == null)) {
                    error(sat, "give exactly one of secretKeyRef or env");
                } else if (secret.env() != null && !SECRET_ENV.matcher(secret.env()).matches()) {
                    error(
                            sat + ".env",
                            "'"
                                    + secret.env()
                                    + "' is not a tool secret: the executor hands out only"
                                    + " environment variables named FLOTILLA_TOOL_<NAME>");
                } else if (secret.secretKeyRef() != null
                        && (secret.secretKeyRef().name() == null
                                || !SECRET_NAME.matcher(secret.secretKeyRef().name()).matches()
                                || secret.secretKeyRef().key() == null
                                || !SECRET_KEY.matcher(secret.secretKeyRef().key()).matches())) {
                    error(
                            sat + ".secretKeyRef",
                            "give the Secret's name (a DNS subdomain name) and a key of its data"
                                    + " (letters, digits, '-', '_' and '.')");
                }
            }
        }
    }

    /** A request header the tool may set: a token, and none the executor sets itself. */
    private void header(String path, String name) {
        if (!HEADER.matcher(name).matches()) {
            error(path, "'" + name + "' is not a header name");
        } else if (RESERVED_HEADERS.contains(name.toLowerCase(java.util.Locale.ROOT))) {
            error(path, "'" + name + "' is set by the executor");
        }
    }

    /**
     * A tool's templates: each placeholder is a path into the arguments ({@code {{q}}}, {@code
     * {{filter.since}}}), and its first name a property of the tool's input schema when it lists
     * them.
     */
    private void toolTemplates(String path, String text, WorkflowSpec.Tool t) {
        if (text == null) {
            return;
        }
        Matcher m = Expressions.TEMPLATE.matcher(text);
        while (m.find()) {
            String ref = m.group(1);
            if (!ARGUMENT_PATH.matcher(ref).matches()) {
                error(
                        path,
                        "'{{" + ref + "}}' must name an argument, like {{q}} or {{filter.since}}");
                continue;
            }
            JsonNode properties = t.input() == null ? null : t.input().get("properties");
            String root = ref.split("\\.", 2)[0];
            if (properties != null && properties.isObject() && !properties.has(root)) {
                error(
                        path,
                        "'{{"
                                + ref
                                + "}}' names no property of the tool's input; it has "
                                + String.join(", ", (Iterable<String>) properties::fieldNames));
            }
        }
    }

    private void settings() {
        if (spec.defaults() != null) {
            duration("defaults.timeout", spec.defaults().timeout(), LONGEST_CALL);
            if (spec.defaults().retries() != null
                    && (spec.defaults().retries().max() == null
                            || spec.defaults().retries().max() < 0
                            || spec.defaults().retries().max() > 10)) {
                error("defaults.retries.max", "must be 0 to 10");
            }
        }
        if (spec.budget() != null) {
            if (spec.budget().maxTokens() != null && spec.budget().maxTokens() < 1) {
                error("budget.maxTokens", "must be a positive number of tokens");
            }
            if (spec.budget().maxCostUsd() != null && spec.budget().maxCostUsd() <= 0) {
                error("budget.maxCostUsd", "must be more than 0");
            }
        }
        if (spec.context() != null) {
            if (spec.context().strategy() != null
                    && !Set.of("summarize", "window", "fail").contains(spec.context().strategy())) {
                error("context.strategy", "use summarize, window or fail");
            }
            if (spec.context().maxTokens() == null) {
                error(
                        "context.maxTokens",
                        "set the most tokens an agent step's messages may hold, e.g. 8000");
            } else if (spec.context().maxTokens() < 256) {
                error("context.maxTokens", "must be at least 256");
            }
        }
    }

    private void duration(String path, String value, java.time.Duration longest) {
        try {
            java.time.Duration d = Durations.parse(value);
            if (d != null && (d.isZero() || d.compareTo(longest) > 0)) {
                error(
                        path,
                        "'"
                                + value
                                + "' is out of range: give more than 0 and at most "
                                + (longest.toDays() > 0
                                        ? longest.toDays() + "d"
                                        : longest.toHours() + "h"));
            }
        } catch (IllegalArgumentException e) {
            error(path, e.getMessage());
        }
    }

    private String suggestion(String name) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String id : index.keySet()) {
            int d = distance(name, id);
            if (d < bestDistance) {
                bestDistance = d;
                best = id;
            }
        }
        return best != null && bestDistance <= Math.max(2, name.length() / 3)
                ? "; did you mean '" + best + "'?"
                : "; known steps: " + String.join(", ", index.keySet());
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                cur[j] =
                        Math.min(
                                Math.min(cur[j - 1] + 1, prev[j] + 1),
                                prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    private void error(String path, String message) {
        errors.add(new FieldError(path, message));
    }
}
