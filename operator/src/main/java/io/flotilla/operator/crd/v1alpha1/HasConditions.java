package io.flotilla.operator.crd.v1alpha1;

import io.fabric8.kubernetes.api.model.Condition;
import java.util.List;

/** A status with conditions and the generation they describe. */
public interface HasConditions {

    Long getObservedGeneration();

    void setObservedGeneration(Long generation);

    List<Condition> getConditions();
}
