package io.flotilla.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.testsupport.TestPostgres;
import java.io.File;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Three registry processes on one database, all sweeping every 200 ms: every lapsed registration
 * is expired and purged exactly once across the replicas, and tokens stop verifying on all of them.
 */
class ReplicaSweepIT {

    private static final List<Process> REPLICAS = new ArrayList<>();
    private static final List<Integer> PORTS = new ArrayList<>();
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private static TestPostgres pg;
    private static String database;

    @BeforeAll
    static void startReplicas() throws Exception {
        pg = TestPostgres.server();
        database = pg.createDatabase();
        Path logs = Path.of("target", "replica-logs");
        Files.createDirectories(logs);
        for (int i = 0; i < 3; i++) {
            int port;
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            ProcessBuilder pb = new ProcessBuilder(System.getProperty("java.home") + File.separator + "bin" + File.separator + "java",
                    "-Xmx192m", "-jar", System.getProperty("registry.jar"))
                    .redirectErrorStream(true).redirectOutput(logs.resolve("registry-" + i + ".log").toFile());
            Map<String, String> env = pb.environment();
            env.put("QUARKUS_HTTP_PORT", String.valueOf(port));
            env.put("QUARKUS_DATASOURCE_JDBC_URL", pg.jdbcUrl(database));
            env.put("QUARKUS_DATASOURCE_REACTIVE_URL", pg.reactiveUrl(database));
            env.put("QUARKUS_DATASOURCE_USERNAME", pg.user());
            env.put("QUARKUS_DATASOURCE_PASSWORD", pg.password());
            env.put("FLOTILLA_REGISTRY_TTL_MIN_SECONDS", "1");
            env.put("FLOTILLA_REGISTRY_SWEEP_INTERVAL", "200ms");
            env.put("FLOTILLA_REGISTRY_SWEEP_PURGE_GRACE", "1s");
            env.put("QUARKUS_LOG_CONSOLE_JSON_ENABLED", "false");
            REPLICAS.add(pb.start());
            PORTS.add(port);
            if (i == 0) {
                ready(port); // the first one migrates the schema
            }
        }
        PORTS.forEach(ReplicaSweepIT::ready);
    }

    @AfterAll
    static void stop() throws Exception {
        REPLICAS.forEach(Process::destroy);
        for (Process p : REPLICAS) {
            p.waitFor();
        }
        if (database != null) {
            pg.dropDatabase(database);
        }
    }

    @Test
    void lapsedRegistrationsAreExpiredAndPurgedExactlyOnceAcrossReplicas() throws Exception {
        List<String> tokens = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            HttpResponse<String> r = HTTP.send(HttpRequest.newBuilder(URI.create(base(i % 3) + "/api/v1/agents"))
                    .header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"w\",\"kind\":\"agent\",\"namespace\":\"replicas\","
                            + "\"podName\":\"pod-" + i + "\",\"ttlSeconds\":1}")).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(201, r.statusCode(), r.body());
            tokens.add(r.body().replaceAll(".*\"token\":\"([^\"]+)\".*", "$1"));
        }
        Awaitility.await().atMost(Duration.ofSeconds(15)).pollInterval(Duration.ofMillis(200))
                .until(() -> total("flotilla_registry_purges_total") >= 30);
        // a few more sweeps of every replica: nothing may be counted twice
        Awaitility.await().pollDelay(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(3)).until(() -> true);
        assertEquals(30, total("flotilla_registry_expirations_total"), "each expiry counted once across the replicas");
        assertEquals(30, total("flotilla_registry_purges_total"), "each purge counted once across the replicas");
        for (int r = 0; r < 3; r++) {
            for (String token : tokens.subList(0, 3)) {
                HttpResponse<String> v = HTTP.send(HttpRequest.newBuilder(URI.create(base(r) + "/api/v1/tokens/verify"))
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"token\":\"" + token + "\"}")).build(), HttpResponse.BodyHandlers.ofString());
                assertTrue(v.body().contains("\"valid\":false"), v.body());
            }
        }
    }

    private static double total(String metric) throws Exception {
        double sum = 0;
        for (int r = 0; r < 3; r++) {
            String text = HTTP.send(HttpRequest.newBuilder(URI.create(base(r) + "/q/metrics")).build(),
                    HttpResponse.BodyHandlers.ofString()).body();
            sum += text.lines().filter(l -> l.startsWith(metric + " ") || l.startsWith(metric + "{"))
                    .mapToDouble(l -> Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1))).sum();
        }
        return sum;
    }

    private static String base(int replica) {
        return "http://127.0.0.1:" + PORTS.get(replica);
    }

    private static void ready(int port) {
        Awaitility.await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(() ->
                HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/q/health/ready")).build(),
                        HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
    }
}
