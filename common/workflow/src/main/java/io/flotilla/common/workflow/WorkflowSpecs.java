package io.flotilla.common.workflow;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.exc.MismatchedInputException;
import com.fasterxml.jackson.databind.exc.UnrecognizedPropertyException;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.flotilla.common.problem.Problem.FieldError;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Reads workflow documents, YAML or JSON: a bare spec, or a whole {@code Workflow} resource
 * (apiVersion, kind, metadata, spec), whose spec is taken.
 */
public final class WorkflowSpecs {

    /** This library's one JSON mapper (specs, and values in expressions). */
    static final ObjectMapper JSON = new ObjectMapper();

    /** The same mapper reading YAML (a superset of JSON), strict about unknown fields. */
    private static final ObjectMapper YAML =
            JSON.copyWith(new YAMLFactory())
                    .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private WorkflowSpecs() {}

    /** A workflow document that cannot be used, with every problem found. */
    public static final class InvalidWorkflowException extends RuntimeException {

        private final transient List<FieldError> errors;

        public InvalidWorkflowException(List<FieldError> errors) {
            super(
                    errors.stream()
                            .map(e -> e.field() + ": " + e.message())
                            .collect(Collectors.joining("; ")));
            this.errors = List.copyOf(errors);
        }

        public List<FieldError> errors() {
            return errors;
        }
    }

    /** Parses and validates; throws with every problem when the document is unusable. */
    public static WorkflowSpec read(String document, WorkflowLimits limits) {
        WorkflowSpec spec = parse(document);
        List<FieldError> errors = WorkflowValidator.validate(spec, limits);
        if (!errors.isEmpty()) {
            throw new InvalidWorkflowException(errors);
        }
        return spec;
    }

    /** Parses without validating the workflow's logic. */
    public static WorkflowSpec parse(String document) {
        try {
            JsonNode root = YAML.readTree(document == null ? "" : document);
            if (root == null || !root.isObject()) {
                throw new InvalidWorkflowException(
                        List.of(
                                new FieldError(
                                        "spec", "the document must be a mapping with steps")));
            }
            JsonNode spec =
                    root.has("spec") && (root.has("kind") || root.has("apiVersion"))
                            ? root.get("spec")
                            : root;
            String nul = io.flotilla.common.problem.NulCheck.find("spec", spec);
            if (nul != null) {
                throw new InvalidWorkflowException(
                        List.of(io.flotilla.common.problem.NulCheck.error(nul)));
            }
            return YAML.treeToValue(spec, WorkflowSpec.class);
        } catch (UnrecognizedPropertyException e) {
            throw new InvalidWorkflowException(
                    List.of(
                            new FieldError(
                                    path(e),
                                    "unknown field '"
                                            + e.getPropertyName()
                                            + "'; known: "
                                            + e.getKnownPropertyIds().stream()
                                                    .map(String::valueOf)
                                                    .sorted()
                                                    .collect(Collectors.joining(", ")))));
        } catch (MismatchedInputException e) {
            throw new InvalidWorkflowException(
                    List.of(
                            new FieldError(
                                    path(e),
                                    "has the wrong type; expected "
                                            + (e.getTargetType() == null
                                                    ? "another type"
                                                    : e.getTargetType()
                                                            .getSimpleName()
                                                            .toLowerCase()))));
        } catch (JsonProcessingException e) {
            throw new InvalidWorkflowException(
                    List.of(
                            new FieldError(
                                    "document",
                                    "is not valid YAML or JSON (line "
                                            + (e.getLocation() == null
                                                    ? "?"
                                                    : e.getLocation().getLineNr())
                                            + "): "
                                            + e.getOriginalMessage())));
        }
    }

    /** The spec as JSON, for storage and the executor's API. */
    public static String toJson(WorkflowSpec spec) {
        try {
            return JSON.writeValueAsString(spec);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("a parsed workflow always serializes", e);
        }
    }

    private static String path(MismatchedInputException e) {
        StringBuilder p = new StringBuilder();
        for (var ref : e.getPath()) {
            if (ref.getFieldName() != null) {
                p.append(p.length() == 0 ? "" : ".").append(ref.getFieldName());
            } else {
                p.append('[').append(ref.getIndex()).append(']');
            }
        }
        return p.length() == 0 ? "spec" : p.toString();
    }
}
