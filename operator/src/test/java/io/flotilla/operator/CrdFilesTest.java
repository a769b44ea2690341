package io.flotilla.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** The CRDs committed under k8s/crds are exactly what the build generates from the classes. */
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
}
