package io.flotilla.operator;

import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import io.fabric8.kubernetes.api.model.Event;
import io.fabric8.kubernetes.api.model.NamespaceBuilder;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.flotilla.testsupport.HttpCalls;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * Registrations in the real registry, pods in the Kubernetes mock server: orphans are reaped, the
 * living are kept.
 */
@QuarkusTest
@WithKubernetesTestServer(crud = true)
@QuarkusTestResource(StackResource.class)
class OrphanReaperTest {

    @Inject KubernetesClient client;

    private static String register(String namespace, String pod) throws Exception {
        HttpCalls.Answer a =
                HttpCalls.call(
                        "POST",
                        StackResource.registryUrl + "/api/v1/agents",
                        StackResource.REGISTRY_ADMIN,
                        "{\"name\":\"agent-"
                                + pod
                                + "\",\"kind\":\"agent\","
                                + "\"namespace\":\""
                                + namespace
                                + "\",\"podName\":\""
                                + pod
                                + "\",\"ttlSeconds\":60}");
        assertEquals(201, a.status(), a.body());
        return a.json().get("id").asText();
    }

    private static Set<String> active() throws Exception {
        Set<String> ids = new HashSet<>();
        JsonNode list =
                HttpCalls.call(
                                "GET",
                                StackResource.registryUrl + "/api/v1/agents?status=active",
                                StackResource.REGISTRY_ADMIN,
                                null)
                        .json();
        list.forEach(a -> ids.add(a.get("id").asText()));
        return ids;
    }

    @Test
    void registrationsOfPodsThatExistSurviveAndThoseOfDeletedPodsAreReaped() throws Exception {
        client.namespaces()
                .resource(
                        new NamespaceBuilder()
                                .withNewMetadata()
                                .withName("agents")
                                .endMetadata()
                                .build())
                .create();
        for (String pod : List.of("alive", "doomed")) {
            client.pods()
                    .inNamespace("agents")
                    .resource(
                            new PodBuilder()
                                    .withNewMetadata()
                                    .withName(pod)
                                    .withNamespace("agents")
                                    .endMetadata()
                                    .withNewSpec()
                                    .addNewContainer()
                                    .withName("agent")
                                    .withImage("agent:1")
                                    .endContainer()
                                    .endSpec()
                                    .build())
                    .create();
        }
        String alive = register("agents", "alive");
        String doomed = register("agents", "doomed");
        String neverThere = register("agents", "ghost");
        String namespaceGone = register("vanished", "pod-1");

        await().atMost(Duration.ofSeconds(20))
                .until(() -> !active().contains(neverThere) && !active().contains(namespaceGone));
        assertTrue(
                active().containsAll(Set.of(alive, doomed)),
                "registrations of existing pods are kept");

        client.pods().inNamespace("agents").withName("doomed").delete();
        await().atMost(Duration.ofSeconds(20)).until(() -> !active().contains(doomed));
        assertTrue(active().contains(alive), "the living pod's registration survives every round");

        List<Event> events =
                client.v1().events().inNamespace("agents").list().getItems().stream()
                        .filter(e -> "OrphanedRegistrationReaped".equals(e.getReason()))
                        .toList();
        assertTrue(
                events.stream()
                        .anyMatch(
                                e ->
                                        e.getMessage().contains(doomed)
                                                && e.getInvolvedObject()
                                                        .getName()
                                                        .equals("doomed")),
                "an event per reaped registration");
        assertTrue(events.stream().anyMatch(e -> e.getMessage().contains(neverThere)));
        assertTrue(
                client.v1().events().inNamespace("default").list().getItems().stream()
                        .anyMatch(
                                e ->
                                        e.getMessage().contains(namespaceGone)
                                                && e.getMessage().contains("namespace vanished")),
                "a vanished namespace is said so");
        String metrics = given().get("/q/metrics").then().statusCode(200).extract().asString();
        assertTrue(
                metrics.lines()
                        .anyMatch(
                                l ->
                                        l.startsWith("flotilla_operator_registrations_reaped_total")
                                                && Double.parseDouble(
                                                                l.substring(l.lastIndexOf(' ') + 1))
                                                        >= 3),
                "counted: " + metrics.lines().filter(l -> l.contains("reaped")).toList());
    }
}
