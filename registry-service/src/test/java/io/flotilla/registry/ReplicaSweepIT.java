package io.flotilla.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.testsupport.ServiceProcess;
import io.flotilla.testsupport.TestPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Three registry processes on one database, all sweeping every 200 ms: every lapsed registration is
 * expired and purged exactly once across the replicas, and tokens stop verifying on all of them.
 */
class ReplicaSweepIT {

    private static final List<ServiceProcess> REPLICAS = new ArrayList<>();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static TestPostgres pg;
    private static String database;

    @BeforeAll
    static void startReplicas() throws Exception {
        pg = TestPostgres.server();
        database = pg.createDatabase();
        Map<String, String> env =
                Map.of(
                        "FLOTILLA_REGISTRY_TTL_MIN_SECONDS",
                        "1",
                        "FLOTILLA_REGISTRY_SWEEP_INTERVAL",
                        "200ms",
                        "FLOTILLA_REGISTRY_SWEEP_PURGE_GRACE",
                        "1s",
                        "FLOTILLA_REGISTRY_ADMIN_TOKEN",
                        RegistryApi.ADMIN_TOKEN);
        for (int i = 0; i < 3; i++) {
            REPLICAS.add(ServiceProcess.start("registry-" + i, "registry.jar", pg, database, env));
            if (i == 0) {
                REPLICAS.get(0).awaitReady(); // the first one migrates the schema
            }
        }
        REPLICAS.forEach(ServiceProcess::awaitReady);
    }

    @AfterAll
    static void stop() throws Exception {
        for (ServiceProcess replica : REPLICAS) {
            replica.close();
        }
        if (database != null) {
            pg.dropDatabase(database);
        }
    }

    @Test
    void lapsedRegistrationsAreExpiredAndPurgedExactlyOnceAcrossReplicas() throws Exception {
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            HttpResponse<String> r =
                    HTTP.send(
                            HttpRequest.newBuilder(URI.create(base(i % 3) + "/api/v1/agents"))
                                    .header("Authorization", RegistryApi.ADMIN)
                                    .header("Content-Type", "application/json")
                                    .POST(
                                            HttpRequest.BodyPublishers.ofString(
                                                    "{\"name\":\"w\",\"kind\":\"agent\",\"namespace\":\"replicas\","
                                                            + "\"podName\":\"pod-"
                                                            + i
                                                            + "\",\"ttlSeconds\":1}"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString());
            assertEquals(201, r.statusCode(), r.body());
            tokens.add(r.body().replaceAll(".*\"token\":\"([^\"]+)\".*", "$1"));
        }
        Awaitility.await()
                .atMost(Duration.ofSeconds(15))
                .pollInterval(Duration.ofMillis(200))
                .until(() -> total("flotilla_registry_purges_total") >= 30);
        // a few more sweeps of every replica: nothing may be counted twice
        Awaitility.await()
                .pollDelay(Duration.ofSeconds(1))
                .atMost(Duration.ofSeconds(3))
                .until(() -> true);
        assertEquals(
                30,
                total("flotilla_registry_expirations_total"),
                "each expiry counted once across the replicas");
        assertEquals(
                30,
                total("flotilla_registry_purges_total"),
                "each purge counted once across the replicas");
        for (int r = 0; r < 3; r++) {
            for (String token : tokens.subList(0, 3)) {
                HttpResponse<String> v =
                        HTTP.send(
                                HttpRequest.newBuilder(
                                                URI.create(base(r) + "/api/v1/tokens/verify"))
                                        .header("Authorization", RegistryApi.ADMIN)
                                        .header("Content-Type", "application/json")
                                        .POST(
                                                HttpRequest.BodyPublishers.ofString(
                                                        "{\"token\":\"" + token + "\"}"))
                                        .build(),
                                HttpResponse.BodyHandlers.ofString());
                assertTrue(v.body().contains("\"valid\":false"), v.body());
            }
        }
    }

    private static double total(String metric) throws Exception {
        double sum = 0;
        for (int r = 0; r < 3; r++) {
            String text =
                    HTTP.send(
                                    HttpRequest.newBuilder(URI.create(base(r) + "/q/metrics"))
                                            .build(),
                                    HttpResponse.BodyHandlers.ofString())
                            .body();
            sum +=
                    text.lines()
                            .filter(l -> l.startsWith(metric + " ") || l.startsWith(metric + "{"))
                            .mapToDouble(
                                    l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1)))
                            .sum();
        }
        return sum;
    }

    private static String base(int replica) {
        return REPLICAS.get(replica).url();
    }
}
