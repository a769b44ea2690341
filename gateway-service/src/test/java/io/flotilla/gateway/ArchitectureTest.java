package io.flotilla.gateway;

import io.flotilla.testsupport.Architecture;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The package rules of docs/architecture.md: which way this service's imports point. */
class ArchitectureTest {

    @Test
    void importsPointTheWayTheArchitectureSays() {
        Architecture.verify(
                "io.flotilla.gateway",
                Map.of(
                        "config", Set.of(),
                        "openai", Set.of(),
                        "route", Set.of("config"),
                        "provider", Set.of("route", "openai"),
                        "key", Set.of("config"),
                        "governance", Set.of("config", "key", "route", "openai"),
                        "chat",
                                Set.of(
                                        "config",
                                        "governance",
                                        "key",
                                        "provider",
                                        "route",
                                        "openai"),
                        "admin", Set.of("config", "key", "governance", "chat", "route", "openai")));
    }
}
