package io.flotilla.executor.step;

import io.flotilla.common.workflow.WorkflowSpec;
import io.quarkus.arc.All;
import jakarta.inject.Singleton;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The step kinds: every {@link StepKind} bean, exactly one per kind of the spec (checked at
 * startup, so a published workflow never names a kind that nothing runs).
 */
@Singleton
public class StepKinds {

    private final Map<WorkflowSpec.Kind, StepKind> kinds = new EnumMap<>(WorkflowSpec.Kind.class);

    StepKinds(@All List<StepKind> all) {
        for (StepKind k : all) {
            if (kinds.put(k.kind(), k) != null) {
                throw new IllegalStateException("two implementations of step kind " + k.kind());
            }
        }
        for (WorkflowSpec.Kind k : WorkflowSpec.Kind.values()) {
            if (!kinds.containsKey(k)) {
                throw new IllegalStateException("no implementation of step kind " + k);
            }
        }
    }

    /** The implementation of a kind. */
    public StepKind of(WorkflowSpec.Kind kind) {
        return kinds.get(kind);
    }
}
