package io.flotilla.operator.crd.v1alpha1;

import com.fasterxml.jackson.annotation.JsonPropertyDescription;
import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.Namespaced;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.model.annotation.Group;
import io.fabric8.kubernetes.model.annotation.Plural;
import io.fabric8.kubernetes.model.annotation.ShortNames;
import io.fabric8.kubernetes.model.annotation.Version;
import io.flotilla.common.workflow.WorkflowSpec;

/**
 * A declarative workflow; its spec is exactly {@link WorkflowSpec}, the document the executor runs.
 */
@Group(Workflow.GROUP)
@Version(Workflow.VERSION)
@Plural(Workflow.PLURAL)
@ShortNames("wf")
@AdditionalPrinterColumn(
        name = "Ready",
        jsonPath = ".status.conditions[?(@.type==\"Ready\")].status",
        type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(
        name = "Steps",
        jsonPath = ".status.steps",
        type = AdditionalPrinterColumn.Type.INTEGER)
@AdditionalPrinterColumn(
        name = "Revision",
        jsonPath = ".status.revision",
        type = AdditionalPrinterColumn.Type.STRING)
@AdditionalPrinterColumn(
        name = "Age",
        jsonPath = ".metadata.creationTimestamp",
        type = AdditionalPrinterColumn.Type.DATE)
public class Workflow extends CustomResource<WorkflowSpec, WorkflowStatus> implements Namespaced {

    public static final String GROUP = "flotilla.io";
    public static final String VERSION = "v1alpha1";
    public static final String PLURAL = "workflows";

    @Override
    @JsonPropertyDescription(
            "The workflow: its input schema, defaults, budget, context limit, tools and steps.")
    public WorkflowSpec getSpec() {
        return super.getSpec();
    }

    @Override
    @JsonPropertyDescription("Whether the spec is valid and published, and its revision.")
    public WorkflowStatus getStatus() {
        return super.getStatus();
    }
}
