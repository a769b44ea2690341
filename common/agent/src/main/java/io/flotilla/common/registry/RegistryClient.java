package io.flotilla.common.registry;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.datatype.jsr310.JavaTimeModule;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * Plain HTTP client of the registry's agent API ({@code /api/v1/agents}), with no framework
 * dependencies so any agent process can embed it. {@link AgentRegistration} builds the
 * register–heartbeat–deregister lifecycle on it.
 */
public final class RegistryClient {

    static final ObjectMapper JSON =
            new ObjectMapper()
                    .registerModule(new JavaTimeModule())
                    .disable(SerializationFeature.WRITE_DATES_AS_TIMESTAMPS)
                    .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                    .setSerializationInclusion(JsonInclude.Include.NON_NULL);

    /** Where a pod's ServiceAccount token is mounted. */
    public static final Path SERVICE_ACCOUNT_TOKEN =
            Path.of("/var/run/secrets/kubernetes.io/serviceaccount/token");

    private final URI base;
    private final HttpClient http;
    private final Duration timeout;
    private final Supplier<String> credential;

    /**
     * @param base the registry's base URL, e.g. {@code http://flotilla-registry:8082}
     * @param timeout how long one call may take before it counts as failed
     * @param credential the bearer token a registration is made with, asked for each time (a
     *     projected ServiceAccount token rotates): the pod's ServiceAccount token ({@link
     *     #serviceAccountToken}) or, outside a cluster, the registry's admin token
     */
    public RegistryClient(URI base, Duration timeout, Supplier<String> credential) {
        this.base = base.toString().endsWith("/") ? base : URI.create(base + "/");
        this.timeout = timeout;
        this.credential = credential;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
    }

    /** The pod's ServiceAccount token, read from its mount on each use. */
    public static Supplier<String> serviceAccountToken() {
        return () -> {
            try {
                return Files.readString(SERVICE_ACCOUNT_TOKEN).trim();
            } catch (IOException e) {
                throw new RegistryException(
                        "no ServiceAccount token at "
                                + SERVICE_ACCOUNT_TOKEN
                                + " to register with; mount it, or configure a registry token",
                        e);
            }
        };
    }

    /**
     * What an agent registers as. {@code name}, {@code kind}, {@code namespace} and {@code podName}
     * are required; the rest may be null (the registry's default TTL applies).
     */
    public record Spec(
            String name,
            String kind,
            String namespace,
            String podName,
            String workflow,
            Integer ttlSeconds,
            List<String> capabilities,
            Map<String, String> metadata) {}

    /** A live registration: the id, the bearer token (shown once by the registry) and its lease. */
    public record Identity(UUID id, String token, int ttlSeconds, Instant expiresAt) {

        @Override
        public String toString() {
            return "Identity[id="
                    + id
                    + ", ttlSeconds="
                    + ttlSeconds
                    + ", expiresAt="
                    + expiresAt
                    + "]";
        }
    }

    private record Lease(Instant expiresAt) {}

    /**
     * Registers (replacing an earlier registration of the same namespace, pod and name, when the
     * credential may: the admin, or a ServiceAccount token bound to that pod).
     */
    public Identity register(Spec spec) {
        HttpResponse<String> response =
                send(
                        HttpRequest.newBuilder(base.resolve("api/v1/agents"))
                                .header("Content-Type", "application/json")
                                .header("Authorization", "Bearer " + credential.get())
                                .POST(HttpRequest.BodyPublishers.ofString(write(spec))));
        if (response.statusCode() != 201) {
            throw RegistryException.of("register", response.statusCode(), response.body());
        }
        return read(response.body(), Identity.class);
    }

    /**
     * Extends the lease and returns the new expiry.
     *
     * @throws RegistrationLostException when the registry no longer knows or honours this identity
     *     (404/410)
     */
    public Instant heartbeat(Identity identity) {
        HttpResponse<String> response =
                send(
                        HttpRequest.newBuilder(
                                        base.resolve(
                                                "api/v1/agents/" + identity.id() + "/heartbeat"))
                                .header("Authorization", "Bearer " + identity.token())
                                .PUT(HttpRequest.BodyPublishers.noBody()));
        return switch (response.statusCode()) {
            case 200 -> read(response.body(), Lease.class).expiresAt();
            case 404, 410 ->
                    throw new RegistrationLostException(
                            RegistryException.of(
                                            "heartbeat", response.statusCode(), response.body())
                                    .getMessage());
            default ->
                    throw RegistryException.of("heartbeat", response.statusCode(), response.body());
        };
    }

    /** Deregisters; an identity the registry already forgot counts as done. */
    public void deregister(UUID id, String bearer) {
        HttpResponse<String> response =
                send(
                        HttpRequest.newBuilder(base.resolve("api/v1/agents/" + id))
                                .header("Authorization", "Bearer " + bearer)
                                .DELETE());
        if (response.statusCode() != 204
                && response.statusCode() != 404
                && response.statusCode() != 410) {
            throw RegistryException.of("deregister", response.statusCode(), response.body());
        }
    }

    private HttpResponse<String> send(HttpRequest.Builder request) {
        try {
            return http.send(
                    request.timeout(timeout).build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new RegistryException(
                    "registry at " + base + " is unreachable: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new RegistryException("interrupted while calling the registry", e);
        }
    }

    private static String write(Object value) {
        try {
            return JSON.writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(
                    "cannot write " + value.getClass().getSimpleName() + " as JSON", e);
        }
    }

    static <T> T read(String body, Class<T> type) {
        try {
            return JSON.readValue(body, type);
        } catch (JsonProcessingException e) {
            throw new RegistryException(
                    "the registry answered with a body that is not the expected JSON", e);
        }
    }
}
