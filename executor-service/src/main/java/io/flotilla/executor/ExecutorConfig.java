package io.flotilla.executor;

import io.smallrye.config.ConfigMapping;
import io.smallrye.config.WithDefault;
import java.time.Duration;
import java.util.Optional;

/** The executor's settings, {@code flotilla.executor.*}. */
@ConfigMapping(prefix = "flotilla.executor")
public interface ExecutorConfig {

    /** Steps this pod runs at once (worker threads, and the most steps one claim takes). */
    @WithDefault("16")
    int concurrency();

    /**
     * How long a claimed step stays leased; the pod renews its leases every third of it, another
     * pod reclaims it after.
     */
    @WithDefault("30s")
    Duration lease();

    /**
     * Safety poll of an idle pod for expired leases and due retries; new work wakes it at once
     * through LISTEN/NOTIFY.
     */
    @WithDefault("1s")
    Duration poll();

    /**
     * Backoff before the first retry of a failed step; doubles per failure, at most 30 s, with full
     * jitter.
     */
    @WithDefault("1s")
    Duration retryBackoff();

    /**
     * Timeout of an LLM call of a step that names none (neither {@code timeout} nor {@code
     * defaults.timeout}).
     */
    @WithDefault("60s")
    Duration stepTimeout();

    /**
     * How often a step may be taken back from an executor that lost it (its lease expired before it
     * committed: the pod died, or the attempt could not be stored) before it fails its run.
     */
    @WithDefault("3")
    int maxReclaims();

    /**
     * How long ended runs are kept, with their steps and events; older ones are deleted by any pod,
     * a batch every ten seconds. Their idempotency keys are free again after that.
     */
    @WithDefault("30d")
    Duration retention();

    /**
     * The admin token of the executor API (the operator, local use): it acts on every namespace.
     * Without it, only Kubernetes ServiceAccount tokens are accepted ({@code
     * flotilla.auth.kubernetes.enabled}).
     */
    Optional<String> adminToken();

    /** Whether this pod runs steps; false leaves it serving the API only. */
    @WithDefault("true")
    boolean engineEnabled();

    Gateway gateway();

    Registry registry();

    Limits limits();

    Tools tools();

    /**
     * The egress policy of HTTP tools: which hosts they may reach, and which addresses although
     * they are loopback, private, link-local or metadata addresses (refused by default). Every
     * address a host resolves to is checked, and the connection goes to the address checked.
     */
    interface Tools {

        /**
         * Hosts tools may reach: exact names ({@code api.example.com}), or a suffix with a leading
         * dot ({@code .example.com}: its subdomains). None by default: a tool call is refused until
         * the platform allows its host.
         */
        Optional<java.util.List<String>> allowedHosts();

        /**
         * Address ranges (CIDR, e.g. {@code 10.96.0.0/12}) tools may reach although they are
         * loopback, private, link-local, metadata or otherwise not public.
         */
        Optional<java.util.List<String>> allowedAddresses();

        /** Largest response body of a tool call, in bytes; a tool may ask for less. */
        @WithDefault("1048576")
        int maxResponseBytes();

        /** Most redirects of a GET that are followed, each checked like the first request. */
        @WithDefault("3")
        int maxRedirects();
    }

    /**
     * What one request or run may ask of the executor; each refused with a problem (or a failed
     * step) that names the limit. The request body limit is {@code flotilla.max-body-bytes}.
     */
    interface Limits {

        /** Largest run input, in bytes of JSON. */
        @WithDefault("262144")
        int inputBytes();

        /** Most steps in one workflow. */
        @WithDefault("100")
        int steps();

        /** Highest {@code loop.maxIterations} a step may ask for. */
        @WithDefault("100")
        int loopIterations();

        /** Most items one {@code foreach} may fan out to. */
        @WithDefault("1000")
        int foreachItems();

        /** Largest rendered system message or prompt of an agent step, in characters. */
        @WithDefault("262144")
        int templateChars();

        /** Most run event streams (SSE) one pod serves at once. */
        @WithDefault("500")
        int eventStreams();
    }

    /** The AI gateway every LLM call goes through. */
    interface Gateway {

        /** Base URL of the gateway (its {@code /v1} is OpenAI-compatible). */
        @WithDefault("http://localhost:8080")
        String url();

        /**
         * The virtual key agent steps call with, and that opens each run's budget scope: a key of
         * {@code tenant} created with {@code "runScopes": true}, which may open and read that
         * tenant's {@code run:*} scopes and nothing else of the gateway's admin API.
         */
        @WithDefault("unset")
        String apiKey();

        /** The tenant that owns the run budget scopes (the tenant of {@code api-key}). */
        @WithDefault("default")
        String tenant();

        /** max_tokens of a completion when the step gives none. */
        @WithDefault("1024")
        int maxTokens();
    }

    /**
     * The agent registry; each executor pod registers there and uses its registration id as lease
     * owner.
     */
    interface Registry {

        /**
         * Base URL of the registry; unset runs without registering (the lease owner is then a
         * random id).
         */
        Optional<String> url();

        /**
         * The bearer token the pod registers with; unset: the pod's own ServiceAccount token (the
         * registry checks it with TokenReview and that the namespace is the pod's). Outside a
         * cluster, the registry's admin token.
         */
        Optional<String> token();

        /** TTL of the pod's registration, in seconds; heartbeats every third of it. */
        @WithDefault("30")
        int ttlSeconds();
    }
}
