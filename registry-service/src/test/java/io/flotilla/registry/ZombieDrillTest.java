package io.flotilla.registry;

import static io.flotilla.registry.RegistryApi.count;
import static io.flotilla.registry.RegistryApi.heartbeat;
import static io.flotilla.registry.RegistryApi.metric;
import static io.flotilla.registry.RegistryApi.verifies;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.common.registry.RegistryClient;
import io.flotilla.common.registry.RegistryClient.Identity;
import io.flotilla.testsupport.PostgresResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The seed's zombie drill: 50 agents register, 25 keep heartbeating, 25 go silent as if killed.
 * Test settings: sweep every 500 ms, purge 5 s after expiry.
 */
@QuarkusTest
@QuarkusTestResource(PostgresResource.class)
class ZombieDrillTest {

    private static final int TTL = 3;
    private static final Duration SWEEP = Duration.ofMillis(500);
    private static final Duration GRACE = Duration.ofSeconds(5);

    @TestHTTPResource("/")
    URI registry;

    @Test
    void silentAgentsAreExpiredAndRevokedWhileLiveOnesAreUntouched() {
        String ns = "drill";
        RegistryClient client =
                new RegistryClient(registry, Duration.ofSeconds(5), () -> RegistryApi.ADMIN_TOKEN);
        double expiredBefore = metric("flotilla_registry_expirations_total");
        double purgedBefore = metric("flotilla_registry_purges_total");
        List<Identity> live = new ArrayList<>();
        List<Identity> silent = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
            Identity agent =
                    client.register(
                            new RegistryClient.Spec(
                                    "worker",
                                    "agent",
                                    ns,
                                    "pod-" + i,
                                    null,
                                    TTL,
                                    List.of(),
                                    Map.of()));
            (i % 2 == 0 ? live : silent).add(agent);
        }
        long registeredAt = System.nanoTime();

        AtomicInteger heartbeatFailures = new AtomicInteger();
        ScheduledExecutorService beats = Executors.newScheduledThreadPool(5);
        for (Identity agent : live) {
            beats.scheduleWithFixedDelay(
                    () -> {
                        try {
                            client.heartbeat(agent);
                        } catch (RuntimeException e) {
                            heartbeatFailures.incrementAndGet();
                        }
                    },
                    0,
                    TTL * 1000L / 3,
                    TimeUnit.MILLISECONDS);
        }
        try {
            // Revocation is immediate at TTL; the sweeper's count follows within one sweep
            // interval.
            await().atMost(Duration.ofSeconds(TTL).plus(SWEEP).plusSeconds(1))
                    .pollInterval(Duration.ofMillis(100))
                    .until(
                            () ->
                                    silent.stream().noneMatch(a -> verifies(a.token()))
                                            && metric("flotilla_registry_expirations_total")
                                                            - expiredBefore
                                                    >= 25);
            assertTrue(
                    System.nanoTime() - registeredAt
                            >= Duration.ofSeconds(TTL).toNanos() - 300_000_000L,
                    "silent agents must live out their TTL before they expire");
            assertEquals(25, count(ns, "expired"));
            assertEquals(25, count(ns, "active"));
            live.forEach(
                    a -> assertTrue(verifies(a.token()), "a heartbeating agent keeps its token"));
            silent.forEach(
                    a ->
                            assertEquals(
                                    410,
                                    heartbeat(a.id().toString(), a.token()).statusCode(),
                                    "a zombie's late heartbeat is refused"));

            await().atMost(GRACE.plus(SWEEP).plusSeconds(2))
                    .pollInterval(Duration.ofMillis(200))
                    .until(() -> count(ns, null) == 25);
            assertEquals(25, count(ns, "active"));
            // other test classes share the application, so the counters may include their
            // registrations too
            assertTrue(metric("flotilla_registry_purges_total") - purgedBefore >= 25);
            silent.forEach(
                    a ->
                            assertEquals(
                                    404,
                                    heartbeat(a.id().toString(), a.token()).statusCode(),
                                    "a purged registration is unknown"));
            live.forEach(a -> assertTrue(verifies(a.token()), "live agents survive the purge"));
            assertEquals(0, heartbeatFailures.get(), "no live agent's heartbeat failed");
        } finally {
            beats.shutdownNow();
        }
    }
}
