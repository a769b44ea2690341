package io.flotilla.registry;

import io.flotilla.testsupport.Architecture;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The package rules of docs/architecture.md: which way this service's imports point. */
class ArchitectureTest {

    @Test
    void importsPointTheWayTheArchitectureSays() {
        Architecture.verify(
                "io.flotilla.registry",
                Map.of(
                        "config", Set.of(),
                        "auth", Set.of("config"),
                        "agent", Set.of("config", "auth"),
                        "expiry", Set.of("config", "agent")));
    }
}
