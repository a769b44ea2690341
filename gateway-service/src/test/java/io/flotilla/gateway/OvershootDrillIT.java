package io.flotilla.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.gateway.fake.FakeUpstream;
import io.flotilla.testsupport.HttpCalls;
import io.flotilla.testsupport.ServiceProcess;
import io.flotilla.testsupport.TestPostgres;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The overshoot drill: three gateway processes share one Postgres; 400 concurrent streaming
 * requests, spread over the three, spend from a tenant budget that pays for about 40% of them —
 * first within slices each replica leases, then, near the limit, request by request.
 */
class OvershootDrillIT {

    private static final String ADMIN = "drill-admin";
    private static final int BUDGET =
            3_000; // the fake reports 11 + 7 = 18 tokens per answer: ~166 answers
    private static final int REQUESTS = 400;
    private static final List<ServiceProcess> GATEWAYS = new ArrayList<>();
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private static FakeUpstream fake;
    private static TestPostgres pg;
    private static String database;

    @BeforeAll
    static void startThreeGateways() throws Exception {
        pg = TestPostgres.server();
        database = pg.createDatabase();
        fake = new FakeUpstream();
        int fakePort = fake.start();
        Path routes = Files.createTempFile("drill-routes", ".yaml");
        Files.writeString(
                routes,
                "providers:\n  fake: {type: openai, baseUrl: http://127.0.0.1:"
                        + fakePort
                        + "/v1}\n"
                        + "routes:\n  drill: {targets: [{provider: fake, model: drill-model, prices: {input: 1.0, output: 2.0}}]}\n");
        Map<String, String> env =
                Map.of(
                        "FLOTILLA_GATEWAY_ROUTES_FILE",
                        routes.toString(),
                        "FLOTILLA_GATEWAY_ADMIN_TOKEN",
                        ADMIN);
        for (int i = 0; i < 3; i++) {
            GATEWAYS.add(ServiceProcess.start("gateway-" + i, "gateway.jar", pg, database, env));
            if (i == 0) {
                GATEWAYS.get(0)
                        .awaitReady(); // the first one migrates the schema; the others find it done
            }
        }
        GATEWAYS.forEach(ServiceProcess::awaitReady);
    }

    private static void stopGateways() throws Exception {
        for (ServiceProcess gateway : GATEWAYS) {
            gateway.close(); // SIGTERM: a graceful shutdown
        }
    }

    @AfterAll
    static void stop() throws Exception {
        stopGateways();
        if (fake != null) {
            fake.stop();
        }
        if (database != null) {
            pg.dropDatabase(database);
        }
    }

    @Test
    void concurrentStreamsAcrossThreeReplicasNeverOverspendTheBudget() throws Exception {
        String base = GATEWAYS.get(0).url();
        HttpCalls.call("POST", base + "/admin/v1/tenants", ADMIN, "{\"id\":\"drill\"}").expect(201);
        String key =
                HttpCalls.call(
                                "POST",
                                base + "/admin/v1/tenants/drill/keys",
                                ADMIN,
                                "{\"name\":\"drill\",\"allowedModels\":[\"drill\"]}")
                        .expect(201)
                        .body()
                        .replaceAll(".*\"key\":\"([^\"]+)\".*", "$1");
        HttpCalls.call(
                        "PUT",
                        base + "/admin/v1/scopes/tenant:drill",
                        ADMIN,
                        "{\"tenant\":\"drill\",\"maxTokens\":" + BUDGET + "}")
                .expect(200);

        List<CompletableFuture<HttpResponse<String>>> calls = new ArrayList<>();
        for (int i = 0; i < REQUESTS; i++) {
            String url = GATEWAYS.get(i % 3).url() + "/v1/chat/completions";
            calls.add(
                    HTTP.sendAsync(
                            HttpRequest.newBuilder(URI.create(url))
                                    .timeout(Duration.ofSeconds(60))
                                    .header("Authorization", "Bearer " + key)
                                    .header("Content-Type", "application/json")
                                    .POST(
                                            HttpRequest.BodyPublishers.ofString(
                                                    "{\"model\":\"drill\",\"stream\":true,\"max_tokens\":8,"
                                                            + "\"messages\":[{\"role\":\"user\",\"content\":\"drill "
                                                            + i
                                                            + "\"}]}"))
                                    .build(),
                            HttpResponse.BodyHandlers.ofString()));
        }
        int completed = 0;
        int clamped = 0;
        int refused = 0;
        for (CompletableFuture<HttpResponse<String>> call : calls) {
            HttpResponse<String> r = call.get();
            if (r.statusCode() == 200) {
                assertTrue(
                        r.body().endsWith("data: [DONE]\n\n"),
                        "a completed stream ends properly: " + r.body());
                completed++;
                if (r.headers().firstValue("x-flotilla-max-tokens-clamped").isPresent()) {
                    clamped++;
                }
            } else {
                assertEquals(
                        429,
                        r.statusCode(),
                        "every request completes, is clamped, or is refused with 429: " + r.body());
                assertTrue(r.body().contains("insufficient_quota"), r.body());
                refused++;
            }
        }
        System.out.printf(
                "drill: %d completed (%d clamped), %d refused%n", completed, clamped, refused);
        assertTrue(completed > 0 && refused > 0, "the drill must exercise both outcomes");

        double leases = 0;
        for (ServiceProcess gateway : GATEWAYS) {
            leases +=
                    HttpCalls.call("GET", gateway.url() + "/q/metrics", null, null)
                            .expect(200)
                            .body()
                            .lines()
                            .filter(
                                    l ->
                                            l.startsWith(
                                                    "flotilla_gateway_governance_slices_leased_total"))
                            .mapToDouble(l -> Double.parseDouble(l.split(" ")[1]))
                            .sum();
        }
        System.out.printf("drill: %.0f slices leased by the three replicas%n", leases);
        assertTrue(leases > 0, "the drill must exercise slices");

        int upstreamAnswers = FakeUpstream.calls("drill-model");
        long reported = (long) upstreamAnswers * (FakeUpstream.USAGE_IN + FakeUpstream.USAGE_OUT);
        // a graceful stop of every replica right away: nothing recorded or reserved may be lost
        stopGateways();
        long used;
        try (Connection c =
                        DriverManager.getConnection(
                                pg.jdbcUrl(database), pg.user(), pg.password());
                Statement s = c.createStatement();
                ResultSet rs =
                        s.executeQuery(
                                "SELECT used_tokens, reserved_tokens FROM gateway.scopes WHERE scope = 'tenant:drill'")) {
            rs.next();
            used = rs.getLong(1);
            assertEquals(0, rs.getLong(2), "every reservation settled");
        }
        System.out.printf(
                "drill: budget %d, settled %d, ledger %d, upstream reported %d%n",
                BUDGET, used, ledgerTokens(), reported);
        assertTrue(used <= BUDGET, "settled tokens " + used + " exceed the budget " + BUDGET);
        assertEquals(reported, used, "settled usage equals what the upstream reported");
        assertEquals(completed, upstreamAnswers, "every completed request was one upstream answer");
    }

    private static long ledgerTokens() throws Exception {
        try (Connection c =
                        DriverManager.getConnection(
                                pg.jdbcUrl(database), pg.user(), pg.password());
                Statement s = c.createStatement();
                ResultSet rs =
                        s.executeQuery(
                                "SELECT coalesce(sum(input_tokens + output_tokens), 0) FROM gateway.ledger")) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
