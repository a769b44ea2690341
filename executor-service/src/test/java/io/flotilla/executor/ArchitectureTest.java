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
                Map.ofEntries(
                        Map.entry("", Set.of()),
                        Map.entry("step", Set.of()),
                        Map.entry("auth", Set.of("")),
                        Map.entry("store", Set.of("step")),
                        Map.entry("workflow", Set.of("", "store", "step")),
                        Map.entry("agent", Set.of("", "step", "workflow", "tool")),
                        Map.entry("wait", Set.of("step")),
                        Map.entry("tool", Set.of("", "step", "workflow")),
                        Map.entry("subworkflow", Set.of("step", "store", "run")),
                        Map.entry("approval", Set.of("step", "store")),
                        // the engine runs step kinds through the port, and imports none of them
                        Map.entry("engine", Set.of("", "step", "store", "workflow")),
                        Map.entry("run", Set.of("", "engine", "store", "workflow", "step"))));
    }

    /**
     * What runs holding a run's row lock (the DAG advance, the run transaction) evaluates no
     * expression: {@code when} and {@code foreach} are evaluated by the worker that claims the
     * step, {@code loop.until} before the commit (docs/security.md).
     */
    @Test
    void nothingEvaluatesExpressionsHoldingTheRunLock() {
        com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses()
                .that()
                .haveFullyQualifiedName("io.flotilla.executor.engine.Advance")
                .or()
                .haveFullyQualifiedName("io.flotilla.executor.engine.RunTx")
                .should()
                .dependOnClassesThat()
                .haveFullyQualifiedName("io.flotilla.common.workflow.Expressions")
                .check(
                        new com.tngtech.archunit.core.importer.ClassFileImporter()
                                .importPackages("io.flotilla.executor.engine"));
    }
}
