package io.flotilla.testsupport;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Points a service's {@code flotilla.auth.kubernetes.*} at the real test API server: the service
 * reviews tokens with the server's admin token and trusts its certificate for real. The
 * ServiceAccount {@link #OPERATOR} is an admin; tokens come from {@link #token}.
 */
public class TokenReviewResource implements QuarkusTestResourceLifecycleManager {

    /** {@code namespace/name} of the ServiceAccount configured as admin. */
    public static final String OPERATOR = "flotilla-system/flotilla-operator";

    @Override
    public Map<String, String> start() {
        try {
            KubeApiServer api = KubeApiServer.shared();
            Path token = Files.createTempFile("flotilla-reviewer", ".token");
            Files.writeString(token, api.adminToken());
            return Map.of(
                    "flotilla.auth.kubernetes.enabled", "true",
                    "flotilla.auth.kubernetes.url", api.url(),
                    "flotilla.auth.kubernetes.token-file", token.toString(),
                    "flotilla.auth.kubernetes.ca-file", api.certificate().toString(),
                    "flotilla.auth.kubernetes.admins",
                            "system:serviceaccount:" + OPERATOR.replace('/', ':'));
        } catch (IOException e) {
            throw new IllegalStateException("the test API server did not start", e);
        }
    }

    @Override
    public void stop() {}

    /** A token of the ServiceAccount {@code namespace/name} bound to {@code pod} (created). */
    public static String podToken(String namespace, String name, String pod) {
        try {
            return KubeApiServer.shared().podToken(namespace, name, pod);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** A token of the ServiceAccount {@code namespace/name}, created if missing. */
    public static String token(String namespace, String name) {
        try {
            KubeApiServer api = KubeApiServer.shared();
            api.serviceAccount(namespace, name);
            return api.serviceAccountToken(namespace, name);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
