package io.flotilla.executor.step;

import io.flotilla.common.workflow.WorkflowSpec;
import io.quarkus.arc.All;
import jakarta.inject.Singleton;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/** The step kinds this executor runs: every {@link StepKind} bean, one per kind. */
@Singleton
public class StepKinds {

    private final Map<WorkflowSpec.Kind, StepKind> kinds = new EnumMap<>(WorkflowSpec.Kind.class);

    StepKinds(@All List<StepKind> all) {
        for (StepKind k : all) {
            if (kinds.put(k.kind(), k) != null) {
                throw new IllegalStateException("two implementations of step kind " + k.kind());
            }
        }
    }

    /** The implementation of a kind, or null when this executor does not run it. */
    public StepKind of(WorkflowSpec.Kind kind) {
        return kinds.get(kind);
    }
}
