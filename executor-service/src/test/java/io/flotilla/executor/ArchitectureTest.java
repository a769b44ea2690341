package io.flotilla.executor;

import io.flotilla.testsupport.Architecture;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The package rules of docs/architecture.md: which way this service's imports point. */
class ArchitectureTest {

    @Test
    void importsPointTheWayTheArchitectureSays() {
        Architecture.verify(
                "io.flotilla.executor",
                Map.of(
                        "", Set.of(),
                        "step", Set.of(),
                        "auth", Set.of(""),
                        "store", Set.of("step"),
                        "workflow", Set.of("", "store"),
                        "agent", Set.of("", "step", "workflow"),
                        "engine", Set.of("", "step", "store", "agent", "workflow"),
                        "run", Set.of("", "engine", "store", "workflow")));
    }
}
