package io.flotilla.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;

/**
 * One run of a Workflow of the same namespace; started once (idempotency key = this resource's
 * uid).
 */
@Group(Workflow.GROUP)
@Version(Workflow.VERSION)
@Plural(WorkflowRun.PLURAL)
@ShortNames("wfr")
@AdditionalPrinterColumn(
        name = "Workflow",
        jsonPath = ".spec.workflow",
        type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(
        name = "Phase",
        jsonPath = ".status.phase",
        type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(
        name = "Tokens",
        jsonPath = ".status.tokens",
        type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
        name = "Cost",
        jsonPath = ".status.costUsd",
        type = AdditionalPrinterColumn.Type.NUMBER)
@AdditionalPrinterColumn(
        name = "Age",
        jsonPath = ".metadata.creationTimestamp",
        type = AdditionalPrinterColumn.Type.DATE)
public class WorkflowRun extends CustomResource<WorkflowRunSpec, WorkflowRunStatus>
        implements Namespaced {

    public static final String PLURAL = "workflowruns";

    @Override
    @JsonPropertyDescription("Which Workflow to run, with what input and budget.")
    public WorkflowRunSpec getSpec() {
        return super.getSpec();
    }

    @Override
    @JsonPropertyDescription(
            "The run as the executor reports it: phase, tokens, cost, times, output summary.")
    public WorkflowRunStatus getStatus() {
        return super.getStatus();
    }
}
