package io.flotilla.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What the operator observed: conditions Accepted and Ready, the executor's revision, the step
 * count.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class WorkflowStatus implements HasConditions {

    @JsonPropertyDescription("The metadata.generation this status describes.")
    private Long observedGeneration;

    @JsonPropertyDescription(
            "The revision the executor published (the first 16 hex digits of the spec's SHA-256).")
    private String revision;

    @JsonPropertyDescription("How many steps the spec has.")
    private Integer steps;

    @JsonPropertyDescription(
            "Accepted (the spec is valid and the executor took it) and Ready (published), with reasons.")
    private List<Condition> conditions = new ArrayList<>();

    @Override
    public Long getObservedGeneration() {
        return observedGeneration;
    }

    @Override
    public void setObservedGeneration(Long observedGeneration) {
        this.observedGeneration = observedGeneration;
    }

    public String getRevision() {
        return revision;
    }

    public void setRevision(String revision) {
        this.revision = revision;
    }

    public Integer getSteps() {
        return steps;
    }

    public void setSteps(Integer steps) {
        this.steps = steps;
    }

    @Override
    public List<Condition> getConditions() {
        return conditions;
    }

    public void setConditions(List<Condition> conditions) {
        this.conditions = conditions;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WorkflowStatus s
                && Objects.equals(observedGeneration, s.observedGeneration)
                && Objects.equals(revision, s.revision)
                && Objects.equals(steps, s.steps)
                && Objects.equals(conditions, s.conditions);
    }

    @Override
    public int hashCode() {
        return Objects.hash(observedGeneration, revision, steps, conditions);
    }
}
