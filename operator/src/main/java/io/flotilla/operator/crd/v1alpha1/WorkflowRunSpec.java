package io.flotilla.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.crd.generator.annotation.PreserveUnknownFields;
import io.fabric8.generator.annotation.Required;
import io.flotilla.common.workflow.WorkflowSpec;

/**
 * @param workflow the Workflow's name, in this run's namespace
 * @param input the run's input (checked against the workflow's input schema by the executor)
 * @param budget the run's budget; the workflow's own when absent
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record WorkflowRunSpec(
        @Required @JsonPropertyDescription("The Workflow to run, by name, in this run's namespace.")
                String workflow,
        @PreserveUnknownFields
                @JsonPropertyDescription(
                        "The run's input; the executor checks it against the workflow's input"
                                + " schema.")
                JsonNode input,
        @JsonPropertyDescription("This run's budget; the workflow's own when absent.")
                WorkflowSpec.Budget budget) {}
