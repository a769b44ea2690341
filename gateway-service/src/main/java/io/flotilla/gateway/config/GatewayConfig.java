package io.flotilla.gateway.config;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Optional;

/** Settings of the gateway, under {@code flotilla.gateway.*} (env: {@code FLOTILLA_GATEWAY_*}). */
@ConfigMapping(prefix = "flotilla.gateway")
public interface GatewayConfig {

    /**
     * YAML file with providers and routes (see docs/gateway.md). Without it the gateway serves the
     * built-in offline routes on the mock provider.
     */
    Optional<String> routesFile();

    /** Bearer credential of the admin API {@code /admin/v1}; without it the admin API is closed. */
    Optional<String> adminToken();

    /** Retries of one target before falling back to the next. */
    Retry retry();

    /** The circuit breaker each target gets. */
    Breaker breaker();

    /** Time a target may take (to the first byte of a stream) when its route names no timeout. */
    @WithDefault("60s")
    Duration defaultTimeout();

    /** Upper bound of upstream calls for one request, across retries and fallbacks. */
    @WithDefault("5")
    int maxAttempts();

    /** Completion tokens assumed for context-window checks when a request sets no max_tokens. */
    @WithDefault("1024")
    int defaultMaxTokens();

    /** Largest request body accepted on /v1, in bytes. */
    @WithDefault("4194304")
    int maxBodyBytes();

    /**
     * How long a replica trusts a key it has verified before asking the database again. A key
     * revoked through another replica stops working here within this time; 0 checks every request.
     */
    @WithDefault("2s")
    Duration keyCacheTtl();

    /** How often a replica reloads routes that the admin API stored (other replicas' changes). */
    @WithDefault("5s")
    Duration routeRefresh();

    /** Rate limits, budgets and the ledger. */
    Governance governance();

    /** Idempotency-Key on /v1/chat/completions (docs/gateway.md). */
    Idempotency idempotency();

    interface Idempotency {
        /** How long a completed request's response is kept for repeats of its key. */
        @WithDefault("24h")
        Duration ttl();

        /** How long a repeat waits for the first request of its key to finish before a 409. */
        @WithDefault("30s")
        Duration maxWait();

        /**
         * After this long a request still in flight is presumed lost (its gateway died) and a
         * repeat of its key runs instead.
         */
        @WithDefault("10m")
        Duration inFlightTimeout();

        /** Largest response kept for replay; a larger one is not kept (a repeat calls again). */
        @WithDefault("1048576")
        int maxBodyBytes();
    }

    interface Governance {
        /** Whether requests are reserved, settled and recorded (off only for benchmarks). */
        @WithDefault("true")
        boolean enabled();

        /**
         * Completion tokens reserved when a request sets no max_tokens; the upstream is told this
         * cap.
         */
        @WithDefault("4096")
        int defaultCompletionTokens();

        /**
         * Fewest completion tokens worth granting; a budget that cannot pay prompt + this refuses.
         */
        @WithDefault("64")
        int minCompletionTokens();

        /**
         * Whether a replica leases slices of a scope chain's headroom and admits requests within
         * them locally (docs/governance.md "Slices"); off, every request reserves in Postgres.
         */
        @WithDefault("true")
        boolean slices();

        /** Largest share of a scope's remaining budget or rate one slice may take. */
        @WithDefault("0.1")
        double sliceFraction();

        /**
         * How long a slice admits requests before it is returned (never past the end of the minute
         * its rate-limit share belongs to); also bounds how stale its usage in Postgres may be.
         */
        @WithDefault("1s")
        Duration sliceLifetime();

        /** When an open reservation of a replica that died is charged in full and released. */
        @WithDefault("10m")
        Duration reservationTtl();

        /**
         * What to do when Postgres cannot be reached: closed refuses requests, open lets them
         * through unmetered.
         */
        @WithDefault("closed")
        String onStoreFailure();

        /** How often the ledger writes what is queued (in batches of 500, until drained). */
        @WithDefault("500ms")
        Duration ledgerFlush();

        /**
         * Most ledger rows a replica queues while Postgres falls behind; past it, new rows are shed
         * (counted in {@code flotilla_gateway_ledger_shed_total}, logged) rather than let the queue
         * exhaust the heap. Scopes are settled either way.
         */
        @WithDefault("200000")
        int ledgerMaxQueued();
    }

    interface Retry {
        /**
         * Retries of one target (so 1 + this many calls) on 429, 5xx, timeouts and connection
         * failures.
         */
        @WithDefault("2")
        int maxRetries();

        /** First backoff; doubled per retry, with full jitter. */
        @WithDefault("200ms")
        Duration initialBackoff();

        /** Cap of one backoff. */
        @WithDefault("5s")
        Duration maxBackoff();

        /**
         * Longest Retry-After honoured; a longer one makes the gateway fall back instead of
         * waiting.
         */
        @WithDefault("10s")
        Duration maxRetryAfter();
    }

    interface Breaker {
        /** Calls in the rolling window the breaker judges. */
        @WithDefault("10")
        int requestVolume();

        /** Share of failed calls in the window that opens the breaker. */
        @WithDefault("0.5")
        double failureRatio();

        /**
         * How long an open breaker refuses calls before it lets trial calls through (half-open).
         */
        @WithDefault("30s")
        Duration delay();

        /** Successful trial calls that close a half-open breaker. */
        @WithDefault("2")
        int successThreshold();
    }
}
