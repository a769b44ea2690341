package io.flotilla.registry;

import static io.flotilla.registry.RegistryApi.count;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.testsupport.PostgresResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

@QuarkusTest
@QuarkusTestResource(PostgresResource.class)
class ParallelRegistrationTest {

    @Inject DataSource db;

    @TestHTTPResource("/")
    URI base;

    /**
     * A plain HTTP client per agent, as real agents are separate processes with their own
     * connections.
     */
    private HttpResponse<String> call(HttpClient http, HttpRequest.Builder request)
            throws Exception {
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void twentyAgentsRegisterAndHeartbeatInParallelWithoutErrorsOrLockFailures() throws Exception {
        long deadlocksBefore = deadlocks();
        int agents = 20;
        int beats = 25;
        ConcurrentLinkedQueue<String> errors = new ConcurrentLinkedQueue<>();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(agents);
        List<Future<?>> done = new ArrayList<>();
        for (int i = 0; i < agents; i++) {
            String pod = "pod-" + i;
            done.add(
                    pool.submit(
                            () -> {
                                HttpClient http = HttpClient.newHttpClient();
                                start.await();
                                // every agent registers twice (a restart) to exercise the replace
                                // path under contention too
                                for (int round = 0; round < 2; round++) {
                                    HttpResponse<String> r =
                                            call(
                                                    http,
                                                    HttpRequest.newBuilder(
                                                                    base.resolve("api/v1/agents"))
                                                            .header(
                                                                    "Authorization",
                                                                    RegistryApi.ADMIN)
                                                            .header(
                                                                    "Content-Type",
                                                                    "application/json")
                                                            .POST(
                                                                    HttpRequest.BodyPublishers
                                                                            .ofString(
                                                                                    "{\"name\":\"worker\",\"kind\":\"agent\","
                                                                                            + "\"namespace\":\"parallel\",\"podName\":\""
                                                                                            + pod
                                                                                            + "\",\"ttlSeconds\":30}")));
                                    if (r.statusCode() != 201) {
                                        errors.add(
                                                pod
                                                        + " register: "
                                                        + r.statusCode()
                                                        + " "
                                                        + r.body());
                                        return null;
                                    }
                                    String id =
                                            r.body().replaceAll(".*\"id\":\"([^\"]+)\".*", "$1");
                                    String token =
                                            r.body().replaceAll(".*\"token\":\"([^\"]+)\".*", "$1");
                                    for (int b = 0; b < beats; b++) {
                                        HttpResponse<String> hb =
                                                call(
                                                        http,
                                                        HttpRequest.newBuilder(
                                                                        base.resolve(
                                                                                "api/v1/agents/"
                                                                                        + id
                                                                                        + "/heartbeat"))
                                                                .header(
                                                                        "Authorization",
                                                                        "Bearer " + token)
                                                                .PUT(
                                                                        HttpRequest.BodyPublishers
                                                                                .noBody()));
                                        if (hb.statusCode() != 200) {
                                            errors.add(
                                                    pod
                                                            + " heartbeat: "
                                                            + hb.statusCode()
                                                            + " "
                                                            + hb.body());
                                        }
                                    }
                                }
                                return null;
                            }));
        }
        start.countDown();
        for (Future<?> f : done) {
            f.get();
        }
        pool.shutdown();
        assertTrue(errors.isEmpty(), "errors: " + errors);
        assertEquals(agents, count("parallel", "active"));
        assertEquals(deadlocksBefore, deadlocks(), "no deadlock was detected by PostgreSQL");
    }

    private long deadlocks() throws SQLException {
        try (Connection c = db.getConnection();
                Statement s = c.createStatement();
                ResultSet rs =
                        s.executeQuery(
                                "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()")) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
