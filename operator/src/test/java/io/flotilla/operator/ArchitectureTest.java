package io.flotilla.operator;

import io.flotilla.testsupport.Architecture;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The package rules of docs/architecture.md: which way this service's imports point. */
class ArchitectureTest {

    @Test
    void importsPointTheWayTheArchitectureSays() {
        Architecture.verify(
                "io.flotilla.operator",
                Map.of(
                        "", Set.of("config", "run", "workflow"),
                        "config", Set.of(),
                        "crd", Set.of(),
                        "events", Set.of(),
                        "executor", Set.of("config", "events"),
                        "gc", Set.of("", "config", "events"),
                        "run", Set.of("config", "crd", "executor"),
                        "workflow", Set.of("config", "crd", "executor")));
    }
}
