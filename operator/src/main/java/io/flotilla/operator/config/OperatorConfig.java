package io.flotilla.operator.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Optional;

/** The operator's settings, {@code flotilla.operator.*}. */
@ConfigMapping(prefix = "flotilla.operator")
public interface OperatorConfig {

    /** Base URL of the executor service. */
    @WithDefault("http://flotilla-executor:8081")
    String executorUrl();

    /** The executor's admin token: the operator publishes and runs workflows of every namespace. */
    Optional<String> executorToken();

    /** Base URL of the registry service. */
    @WithDefault("http://flotilla-registry:8082")
    String registryUrl();

    /**
     * Admin token of the registry, to list and deregister orphaned registrations; without it no
     * reaping happens.
     */
    Optional<String> registryAdminToken();

    /**
     * How often registrations are checked against pods; keep it under the agents' TTL so reaping
     * stays within two TTLs.
     */
    @WithDefault("10s")
    Duration gcInterval();

    /** How often a running WorkflowRun's status is refreshed from the executor. */
    @WithDefault("2s")
    Duration runPoll();

    /**
     * Patch primary resources with server-side apply (the fabric8 mock server in tests does not
     * support it).
     */
    @WithDefault("true")
    boolean serverSideApply();

    /**
     * Whether to install the CRDs at start (tests; in clusters they come with the chart or
     * k8s/crds).
     */
    @WithDefault("false")
    boolean installCrds();

    /**
     * Elect a leader over a Lease in the operator's namespace: of several replicas one reconciles
     * and reaps, the others keep warm caches and take over when its lease lapses (a leader that
     * loses its lease exits, so its pod restarts as a standby).
     */
    @WithDefault("true")
    boolean leaderElection();

    /**
     * How long a deleted Workflow or WorkflowRun waits for its cleanup in the executor while the
     * executor is unreachable; then the finalizer is removed anyway, with a Warning event, so a
     * deletion (or a namespace's) can never hang. The annotation {@code flotilla.io/skip-cleanup:
     * "true"} skips the cleanup at once.
     */
    @WithDefault("2m")
    Duration cleanupTimeout();

    /** The name of that Lease. */
    @WithDefault("flotilla-operator")
    String leaseName();
}
