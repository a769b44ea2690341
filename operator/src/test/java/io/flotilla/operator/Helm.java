package io.flotilla.operator;

import io.flotilla.testsupport.KubeApiServer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The helm binary of scripts/helm.sh (fetched once per machine), run to its end. */
final class Helm {

    private static String binary;

    private Helm() {}

    static synchronized String binary() throws Exception {
        if (binary == null) {
            binary =
                    KubeApiServer.run(
                                    List.of(
                                            "bash",
                                            Path.of("../scripts/helm.sh")
                                                    .toAbsolutePath()
                                                    .toString()),
                                    null)
                            .strip();
        }
        return binary;
    }

    /** Runs helm with {@code args}; answers its output, fails with it. */
    static String run(String... args) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(binary());
        command.addAll(List.of(args));
        return KubeApiServer.run(command, null);
    }
}
