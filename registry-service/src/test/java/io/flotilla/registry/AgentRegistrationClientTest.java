package io.flotilla.registry;

import static io.flotilla.registry.RegistryApi.ADMIN;
import static io.flotilla.registry.RegistryApi.verifies;
import static io.restassured.RestAssured.given;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.common.registry.AgentRegistration;
import io.flotilla.common.registry.RegistryClient;
import io.flotilla.common.registry.RegistryClient.Identity;
import io.flotilla.common.registry.RegistryException;
import io.flotilla.testsupport.PostgresResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.net.URI;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/** The client in {@code common}, as an agent embeds it, against the real registry. */
@QuarkusTest
@QuarkusTestResource(PostgresResource.class)
class AgentRegistrationClientTest {

    @TestHTTPResource("/")
    URI registry;

    @Inject DataSource db;

    private RegistryClient client() {
        return new RegistryClient(registry, Duration.ofSeconds(5), () -> RegistryApi.ADMIN_TOKEN);
    }

    private static RegistryClient.Spec spec(String pod, int ttl) {
        return new RegistryClient.Spec(
                "executor",
                "executor",
                "client",
                pod,
                null,
                ttl,
                List.of("steps"),
                Map.of("version", "test"));
    }

    @Test
    void registersHeartbeatsRecoversFromA410AndDeregistersOnShutdown() throws SQLException {
        List<Identity> announced = new CopyOnWriteArrayList<>();
        AgentRegistration registration = AgentRegistration.start(client(), spec("pod-client", 3));
        registration.onNewIdentity(announced::add);
        Identity first = registration.identity();
        assertTrue(verifies(first.token()));

        // heartbeats every TTL/3: the lease keeps moving forward and outlives the original TTL
        Instant firstHeartbeat = lastHeartbeat(first.id().toString());
        await().atMost(Duration.ofSeconds(3))
                .until(() -> lastHeartbeat(first.id().toString()).isAfter(firstHeartbeat));
        await().pollDelay(Duration.ofSeconds(4)).atMost(Duration.ofSeconds(6)).until(() -> true);
        assertTrue(verifies(first.token()), "a heartbeating agent outlives its TTL");

        // the process stalls past its TTL (a long GC pause, a frozen node): the registry expires it
        RegistryApi.lapse(db, first.id().toString());
        await().atMost(Duration.ofSeconds(5)).until(() -> !announced.isEmpty());
        Identity second = registration.identity();
        assertEquals(second, announced.get(0));
        assertNotEquals(first.id(), second.id());
        assertFalse(verifies(first.token()), "the lapsed identity stays revoked");
        assertTrue(verifies(second.token()));

        registration.close();
        assertFalse(verifies(second.token()), "graceful shutdown revokes at once, not at TTL");
        given().header("Authorization", ADMIN)
                .get("/api/v1/agents/" + second.id())
                .then()
                .statusCode(404);
    }

    @Test
    void startFailsFastWithTheRegistrysReason() {
        RegistryException e =
                assertThrows(
                        RegistryException.class,
                        () -> AgentRegistration.start(client(), spec("pod-bad", 99_999)));
        assertTrue(
                e.getMessage().contains("HTTP 400") && e.getMessage().contains("ttlSeconds"),
                e.getMessage());

        RegistryException down =
                assertThrows(
                        RegistryException.class,
                        () ->
                                AgentRegistration.start(
                                        new RegistryClient(
                                                URI.create("http://127.0.0.1:1"),
                                                Duration.ofSeconds(1),
                                                () -> RegistryApi.ADMIN_TOKEN),
                                        spec("pod-x", 5)));
        assertTrue(down.getMessage().contains("unreachable"), down.getMessage());
    }

    private Instant lastHeartbeat(String id) {
        return Instant.parse(
                given().header("Authorization", ADMIN)
                        .get("/api/v1/agents/" + id)
                        .then()
                        .statusCode(200)
                        .extract()
                        .path("lastHeartbeatAt"));
    }
}
