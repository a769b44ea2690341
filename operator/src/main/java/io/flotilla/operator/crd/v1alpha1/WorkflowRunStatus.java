package io.flotilla.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
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

    private Long observedGeneration;
    private String runId;
    private String phase;
    private Long tokens;
    private Double costUsd;
    private String startTime;
    private String finishTime;
    private String output;
    private String message;
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
