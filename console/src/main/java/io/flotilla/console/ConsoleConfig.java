package io.flotilla.console;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Optional;

/** The console's settings, {@code flotilla.console.*}: the services it reads and its sessions. */
@ConfigMapping(prefix = "flotilla.console")
public interface ConsoleConfig {

    Service gateway();

    Service executor();

    Service registry();

    /**
     * The key that signs session cookies (HMAC-SHA256); unset: a random key per process, so
     * sessions end when it restarts (set one shared by every replica).
     */
    Optional<String> sessionSecret();

    /** How long a sign-in lasts. */
    @WithDefault("8h")
    Duration sessionTtl();

    /** Whether the session cookie is marked Secure (HTTPS only); off for plain-HTTP local use. */
    @WithDefault("false")
    boolean secureCookie();

    /** A service the console calls with its own credential. */
    interface Service {
        String url();

        /** The service's admin token: the console reads for every viewer and filters by tenant. */
        String adminToken();
    }
}
