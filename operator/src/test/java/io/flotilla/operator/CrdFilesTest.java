package io.flotilla.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The CRDs committed under k8s/crds, and the Helm chart's copies, are exactly what the build
 * generates from the classes: the generator is the one source.
 */
class CrdFilesTest {

    @Test
    void committedCrdsMatchTheGeneratedOnes() throws Exception {
        for (String crd : OperatorLifecycle.CRDS) {
            Path generated = Path.of("target/classes/META-INF/fabric8", crd);
            Path committed = Path.of("../k8s/crds", crd);
            assertEquals(
                    Files.readString(generated),
                    Files.readString(committed),
                    "k8s/crds/"
                            + crd
                            + " is out of date: copy "
                            + generated
                            + " over it (the classes in io.flotilla.operator.crd.v1alpha1 changed)");
        }
    }

    @Test
    void theChartInstallsTheSameCrds() throws Exception {
        for (String crd : OperatorLifecycle.CRDS) {
            assertEquals(
                    Files.readString(Path.of("../k8s/crds", crd)),
                    Files.readString(Path.of("../helm/flotilla/crds", crd)),
                    "helm/flotilla/crds/"
                            + crd
                            + " differs from k8s/crds/"
                            + crd
                            + ": copy it over");
        }
    }
}
