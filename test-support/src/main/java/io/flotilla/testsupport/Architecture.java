package io.flotilla.testsupport;

import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideInAnyPackage;
import static com.tngtech.archunit.core.domain.JavaClass.Predicates.resideOutsideOfPackage;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The import rules of {@code docs/architecture.md}, checked on a module's compiled classes: every
 * package of a service is one the rules name, imports only the packages they allow it (which leaves
 * no room for a cycle; a cycle check runs as well, so a too-generous map still cannot hide one),
 * and no {@code common} library imports a service or another {@code common} library it is not built
 * on.
 */
public final class Architecture {

    /** The services' root packages: {@code common} must not import any of them. */
    private static final String[] SERVICES = {
        "io.flotilla.registry..",
        "io.flotilla.gateway..",
        "io.flotilla.executor..",
        "io.flotilla.operator..",
        "io.flotilla.console.."
    };

    private Architecture() {}

    /**
     * Checks the service under {@code root} (e.g. {@code io.flotilla.gateway}) against {@code
     * mayImport}: for each of its top-level packages (the key {@code ""} is the root package
     * itself), the service packages it may import. Libraries outside the service are not limited
     * here.
     */
    public static void verify(String root, Map<String, Set<String>> mayImport) {
        JavaClasses classes =
                new ClassFileImporter()
                        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                        .importPackages("io.flotilla");
        assertAcyclic(root, mayImport);
        Set<String> found = new TreeSet<>();
        for (JavaClass c : classes) {
            if (c.getPackageName().equals(root)) {
                found.add("");
            } else if (c.getPackageName().startsWith(root + ".")) {
                found.add(c.getPackageName().substring(root.length() + 1).split("\\.")[0]);
            }
        }
        assertEquals(
                new TreeSet<>(mayImport.keySet()),
                found,
                "every package of "
                        + root
                        + " must be placed in docs/architecture.md and its test, and none listed"
                        + " that is gone");
        for (Map.Entry<String, Set<String>> e : mayImport.entrySet()) {
            List<String> allowed = new ArrayList<>();
            allowed.add(pkg(root, e.getKey()));
            e.getValue().forEach(p -> allowed.add(pkg(root, p)));
            String self = e.getKey().isEmpty() ? root : root + "." + e.getKey() + "..";
            classes()
                    .that()
                    .resideInAPackage(self)
                    .should()
                    .onlyDependOnClassesThat(
                            resideOutsideOfPackage(root + "..")
                                    .or(resideInAnyPackage(allowed.toArray(String[]::new))))
                    .because(
                            "docs/architecture.md says which way the imports of " + root + " point")
                    .check(classes);
        }
        slices().matching(root + ".(*)..").should().beFreeOfCycles().check(classes);
        commonStaysBelowServices(classes);
    }

    /** The rules themselves must not allow a cycle (the root package included). */
    private static void assertAcyclic(String root, Map<String, Set<String>> mayImport) {
        Map<String, Integer> state = new HashMap<>(); // 1 = on the path, 2 = done
        for (String p : mayImport.keySet()) {
            visit(root, p, mayImport, state, new ArrayDeque<>());
        }
    }

    private static void visit(
            String root,
            String p,
            Map<String, Set<String>> mayImport,
            Map<String, Integer> state,
            Deque<String> path) {
        Integer s = state.get(p);
        if (s != null && s == 2) {
            return;
        }
        path.addLast(p.isEmpty() ? "(root)" : p);
        if (s != null) {
            throw new AssertionError(
                    "the import rules of " + root + " allow a cycle: " + String.join(" -> ", path));
        }
        state.put(p, 1);
        for (String next : mayImport.getOrDefault(p, Set.of())) {
            visit(root, next, mayImport, state, path);
        }
        state.put(p, 2);
        path.removeLast();
    }

    private static void commonStaysBelowServices(JavaClasses classes) {
        noClasses()
                .that()
                .resideInAPackage("io.flotilla.common..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(SERVICES)
                .because("common is a library the services build on, never the other way round")
                .allowEmptyShould(true)
                .check(classes);
        noClasses()
                .that()
                .resideInAnyPackage("io.flotilla.common.registry..", "io.flotilla.common.secret..")
                .should()
                .dependOnClassesThat()
                .resideInAnyPackage(
                        "io.flotilla.common.workflow..",
                        "io.flotilla.common.problem..",
                        "io.flotilla.common.tokens..",
                        "dev.cel..",
                        "com.google.protobuf..",
                        "io.quarkus..")
                .because("an agent embeds common-agent without CEL, protobuf or Quarkus")
                .allowEmptyShould(true)
                .check(classes);
    }

    private static String pkg(String root, String p) {
        return p.isEmpty() ? root : root + "." + p + "..";
    }
}
