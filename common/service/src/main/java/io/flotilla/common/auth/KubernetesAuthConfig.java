package io.flotilla.common.auth;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * {@code flotilla.auth.kubernetes.*}: bearer tokens checked with the Kubernetes TokenReview API
 * (the services that accept ServiceAccount tokens: executor and registry).
 */
@ConfigMapping(prefix = "flotilla.auth.kubernetes")
public interface KubernetesAuthConfig {

    /** Whether bearer tokens other than the admin token are reviewed by the API server. */
    @WithDefault("false")
    boolean enabled();

    /** The API server. */
    @WithDefault("https://kubernetes.default.svc")
    String url();

    /**
     * The token this service sends with each TokenReview (re-read on use: projected tokens rotate);
     * its ServiceAccount needs the {@code system:auth-delegator} ClusterRole.
     */
    @WithDefault("/var/run/secrets/kubernetes.io/serviceaccount/token")
    Path tokenFile();

    /** CA certificates (PEM) the API server's certificate is checked against. */
    @WithDefault("/var/run/secrets/kubernetes.io/serviceaccount/ca.crt")
    Path caFile();

    /** How long an answer (yes or no) of the API server is reused for the same token. */
    @WithDefault("10s")
    Duration cacheTtl();

    /**
     * User names or groups (e.g. {@code system:serviceaccount:flotilla:flotilla-operator}) whose
     * callers act on every namespace.
     */
    Optional<List<String>> admins();
}
