package io.flotilla.testsupport;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;

/** Every JAX-RS route a service's main code declares, found in its classes (not listed by hand). */
public final class Routes {

    private static final Set<String> METHODS = Set.of("GET", "POST", "PUT", "DELETE", "PATCH");

    /** A route: its HTTP method and path template. */
    public record Route(String method, String path) {

        /** The path with every template parameter given a harmless value. */
        public String concrete() {
            return path.replaceAll("\\{[^}]+}", "x");
        }

        @Override
        public String toString() {
            return method + " " + path;
        }
    }

    private Routes() {}

    /** The JAX-RS routes of the classes under {@code rootPackage}. */
    public static List<Route> jaxRs(String rootPackage) {
        List<Route> routes = new ArrayList<>();
        for (JavaClass type :
                new ClassFileImporter()
                        .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                        .importPackages(rootPackage)) {
            Class<?> c = type.reflect();
            jakarta.ws.rs.Path base = c.getAnnotation(jakarta.ws.rs.Path.class);
            if (base == null) {
                continue;
            }
            for (Method m : c.getDeclaredMethods()) {
                for (Annotation a : m.getAnnotations()) {
                    jakarta.ws.rs.HttpMethod http =
                            a.annotationType().getAnnotation(jakarta.ws.rs.HttpMethod.class);
                    if (http == null || !METHODS.contains(http.value())) {
                        continue;
                    }
                    jakarta.ws.rs.Path sub = m.getAnnotation(jakarta.ws.rs.Path.class);
                    String path =
                            (base.value() + "/" + (sub == null ? "" : sub.value()))
                                    .replaceAll("/+", "/")
                                    .replaceAll("(.)/$", "$1");
                    routes.add(new Route(http.value(), path));
                }
            }
        }
        routes.sort(Comparator.comparing(Route::path).thenComparing(Route::method));
        return routes;
    }
}
