package io.flotilla.registry.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;

/**
 * Settings of the registry, under {@code flotilla.registry.*} (env: {@code FLOTILLA_REGISTRY_*}).
 */
@ConfigMapping(prefix = "flotilla.registry")
public interface RegistryConfig {

    /** Lease length of a registration and its bounds. */
    Ttl ttl();

    /** The background sweep that marks lapsed registrations and purges old ones. */
    Sweep sweep();

    /** Kinds of agent that may register; anything else is refused with the list. */
    @WithDefault("agent,executor,tool,gateway")
    Set<String> kinds();

    /**
     * Bearer credential that may list and deregister any agent (the operator uses it). Without it,
     * those admin calls are refused. Mount it from a Kubernetes secret.
     */
    Optional<String> adminToken();

    /**
     * Most live registrations one namespace may hold; a registration past it is refused with 429
     * (replacing one of the namespace's own identities is always allowed).
     */
    @WithDefault("1000")
    int maxPerNamespace();

    interface Ttl {
        /** TTL when a registration names none, in seconds. */
        @WithDefault("30")
        int defaultSeconds();

        /** Smallest TTL accepted, in seconds. */
        @WithDefault("5")
        int minSeconds();

        /** Largest TTL accepted, in seconds. */
        @WithDefault("3600")
        int maxSeconds();
    }

    interface Sweep {
        /** How often each replica sweeps. Sweeps of several replicas may overlap safely. */
        @WithDefault("5s")
        Duration interval();

        /** How long an expired registration stays visible (status=expired) before it is purged. */
        @WithDefault("5m")
        Duration purgeGrace();
    }
}
