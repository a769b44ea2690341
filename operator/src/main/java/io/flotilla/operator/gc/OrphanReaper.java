package io.flotilla.operator.gc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.flotilla.operator.OperatorLifecycle;
import io.flotilla.operator.config.OperatorConfig;
import io.flotilla.operator.events.Events;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.scheduler.Scheduled;
import jakarta.enterprise.context.ApplicationScoped;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.jboss.logging.Logger;

/**
 * Garbage collection of agent registrations: every {@code gc-interval}, the registry's active
 * registrations are checked against the pods of their namespaces (one list per namespace); those
 * whose pod or namespace is gone are deregistered, each with a Kubernetes event and a count in
 * {@code flotilla_operator_registrations_reaped_total}. Only the leading replica reaps.
 */
@ApplicationScoped
public class OrphanReaper {

    private static final Logger LOG = Logger.getLogger(OrphanReaper.class);
    private final ObjectMapper json;

    private final KubernetesClient kubernetes;
    private final OperatorConfig config;
    private final OperatorLifecycle lifecycle;
    private final Counter reaped;
    private final Events events;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    OrphanReaper(
            KubernetesClient kubernetes,
            OperatorConfig config,
            OperatorLifecycle lifecycle,
            MeterRegistry meters,
            ObjectMapper json,
            Events events) {
        this.json = json;
        this.events = events;
        this.kubernetes = kubernetes;
        this.config = config;
        this.lifecycle = lifecycle;
        this.reaped =
                Counter.builder("flotilla.operator.registrations.reaped")
                        .description(
                                "Registrations deregistered because their pod or namespace no longer exists")
                        .register(meters);
    }

    @Scheduled(
            every = "${flotilla.operator.gc-interval:10s}",
            concurrentExecution = Scheduled.ConcurrentExecution.SKIP)
    void reap() {
        if (config.registryAdminToken().isEmpty() || !lifecycle.leading()) {
            return;
        }
        try {
            JsonNode agents = json.readTree(call("GET", "/api/v1/agents?status=active", 200));
            Map<String, Set<String>> podsByNamespace = new HashMap<>();
            for (JsonNode agent : agents) {
                String namespace = agent.path("namespace").asText();
                String pod = agent.path("podName").asText();
                Set<String> pods = podsByNamespace.computeIfAbsent(namespace, this::pods);
                if (pods == null || !pods.contains(pod)) {
                    reap(agent, namespace, pod, pods == null);
                }
            }
        } catch (IOException | RuntimeException e) {
            LOG.warnf(
                    e,
                    "reaping orphaned registrations failed (%s); next round in %s",
                    e.getMessage(),
                    config.gcInterval());
        }
    }

    /**
     * The pod names of a namespace, or null when the namespace does not exist or is being deleted
     * (its pods are going, and agents registered for them are orphans already).
     */
    private Set<String> pods(String namespace) {
        Namespace ns = kubernetes.namespaces().withName(namespace).get();
        if (ns == null || ns.getMetadata().getDeletionTimestamp() != null) {
            return null;
        }
        return kubernetes.pods().inNamespace(namespace).list().getItems().stream()
                .map(Pod::getMetadata)
                .map(m -> m.getName())
                .collect(Collectors.toSet());
    }

    private void reap(JsonNode agent, String namespace, String pod, boolean namespaceGone)
            throws IOException {
        String id = agent.path("id").asText();
        call("DELETE", "/api/v1/agents/" + id, 204);
        reaped.increment();
        String why =
                namespaceGone
                        ? "its namespace " + namespace + " is gone or being deleted"
                        : "its pod " + namespace + "/" + pod + " no longer exists";
        String message =
                "registration "
                        + id
                        + " ("
                        + agent.path("kind").asText()
                        + " "
                        + agent.path("name").asText()
                        + ") deregistered: "
                        + why;
        LOG.info(message);
        // An event lives in its object's namespace; a namespace being deleted cannot take new
        // events, so those are about the (cluster-scoped) Namespace and go to "default", where
        // Kubernetes keeps events of cluster-scoped objects.
        events.normal(
                namespaceGone ? "default" : namespace,
                namespaceGone
                        ? new ObjectReferenceBuilder()
                                .withKind("Namespace")
                                .withName(namespace)
                                .withApiVersion("v1")
                                .build()
                        : new ObjectReferenceBuilder()
                                .withKind("Pod")
                                .withNamespace(namespace)
                                .withName(pod)
                                .withApiVersion("v1")
                                .build(),
                "OrphanedRegistrationReaped",
                message);
    }

    private String call(String method, String path, int expected) throws IOException {
        HttpRequest request =
                HttpRequest.newBuilder(
                                URI.create(config.registryUrl().replaceAll("/+$", "") + path))
                        .timeout(Duration.ofSeconds(10))
                        .header(
                                "Authorization",
                                "Bearer " + config.registryAdminToken().orElseThrow())
                        .method(method, HttpRequest.BodyPublishers.noBody())
                        .build();
        try {
            HttpResponse<String> response =
                    http.send(request, HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != expected
                    && !(method.equals("DELETE") && response.statusCode() == 404)) {
                throw new IOException(
                        "the registry answered "
                                + response.statusCode()
                                + " to "
                                + method
                                + " "
                                + path);
            }
            return response.body();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }
}
