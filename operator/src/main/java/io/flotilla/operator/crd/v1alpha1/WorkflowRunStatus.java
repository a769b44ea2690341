package io.flotilla.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.kubernetes.api.model.Condition;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * The executor's run, mirrored: phase, tokens, cost, times, a summary of the output, and the
 * Started condition.
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public class WorkflowRunStatus implements HasConditions {

    @JsonPropertyDescription("The metadata.generation this status describes.")
    private Long observedGeneration;

    @JsonPropertyDescription("The executor's run id.")
    private String runId;

    @JsonPropertyDescription("Pending, Running, Succeeded, Failed or Cancelled.")
    private String phase;

    @JsonPropertyDescription(
            "Tokens the run has used so far, in and out, as the gateway counted them.")
    private Long tokens;

    @JsonPropertyDescription("What the run has cost so far, in USD, as the gateway priced it.")
    private Double costUsd;

    @JsonPropertyDescription("When the run started (RFC 3339).")
    private String startTime;

    @JsonPropertyDescription("When the run ended (RFC 3339).")
    private String finishTime;

    @JsonPropertyDescription(
            "The first 200 characters of the run's output; the whole output is in the executor's API.")
    private String output;

    @JsonPropertyDescription("Why the run failed or is pending, when it did or is.")
    private String message;

    @JsonPropertyDescription("Conditions of the run, with reasons.")
    private List<Condition> conditions = new ArrayList<>();

    @Override
    public Long getObservedGeneration() {
        return observedGeneration;
    }

    @Override
    public void setObservedGeneration(Long observedGeneration) {
        this.observedGeneration = observedGeneration;
    }

    public String getRunId() {
        return runId;
    }

    public void setRunId(String runId) {
        this.runId = runId;
    }

    public String getPhase() {
        return phase;
    }

    public void setPhase(String phase) {
        this.phase = phase;
    }

    public Long getTokens() {
        return tokens;
    }

    public void setTokens(Long tokens) {
        this.tokens = tokens;
    }

    public Double getCostUsd() {
        return costUsd;
    }

    public void setCostUsd(Double costUsd) {
        this.costUsd = costUsd;
    }

    public String getStartTime() {
        return startTime;
    }

    public void setStartTime(String startTime) {
        this.startTime = startTime;
    }

    public String getFinishTime() {
        return finishTime;
    }

    public void setFinishTime(String finishTime) {
        this.finishTime = finishTime;
    }

    public String getOutput() {
        return output;
    }

    public void setOutput(String output) {
        this.output = output;
    }

    public String getMessage() {
        return message;
    }

    public void setMessage(String message) {
        this.message = message;
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
        return o instanceof WorkflowRunStatus s
                && Objects.equals(observedGeneration, s.observedGeneration)
                && Objects.equals(runId, s.runId)
                && Objects.equals(phase, s.phase)
                && Objects.equals(tokens, s.tokens)
                && Objects.equals(costUsd, s.costUsd)
                && Objects.equals(startTime, s.startTime)
                && Objects.equals(finishTime, s.finishTime)
                && Objects.equals(output, s.output)
                && Objects.equals(message, s.message)
                && Objects.equals(conditions, s.conditions);
    }

    @Override
    public int hashCode() {
        return Objects.hash(
                observedGeneration,
                runId,
                phase,
                tokens,
                costUsd,
                startTime,
                finishTime,
                output,
                message,
                conditions);
    }
}
