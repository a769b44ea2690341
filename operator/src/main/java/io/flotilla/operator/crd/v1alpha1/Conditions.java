package io.flotilla.operator.crd.v1alpha1;

import io.fabric8.kubernetes.api.model.Condition;
import io.fabric8.kubernetes.api.model.ConditionBuilder;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Objects;

/**
 * Sets conditions on a status the Kubernetes way: {@code lastTransitionTime} moves only when a
 * condition's status changes, and every condition carries the generation it describes.
 */
public final class Conditions {

    private Conditions() {}

    public static void set(
            HasConditions status,
            long generation,
            String type,
            boolean ok,
            String reason,
            String message) {
        status.setObservedGeneration(generation);
        String value = ok ? "True" : "False";
        Condition old =
                status.getConditions().stream()
                        .filter(c -> c.getType().equals(type))
                        .findFirst()
                        .orElse(null);
        String since =
                old != null && Objects.equals(old.getStatus(), value)
                        ? old.getLastTransitionTime()
                        : Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        Condition updated =
                new ConditionBuilder()
                        .withType(type)
                        .withStatus(value)
                        .withReason(reason)
                        .withMessage(message)
                        .withObservedGeneration(generation)
                        .withLastTransitionTime(since)
                        .build();
        status.getConditions().removeIf(c -> c.getType().equals(type));
        status.getConditions().add(updated);
        status.getConditions().sort((a, b) -> a.getType().compareTo(b.getType()));
    }

    public static boolean isTrue(HasConditions status, String type) {
        return status != null
                && status.getConditions().stream()
                        .anyMatch(c -> c.getType().equals(type) && "True".equals(c.getStatus()));
    }
}
