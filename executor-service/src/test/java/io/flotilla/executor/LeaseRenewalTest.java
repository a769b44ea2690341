package io.flotilla.executor;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flotilla.executor.fake.ExecutorTestResource;
import io.flotilla.executor.fake.FakeGateway;
import io.flotilla.executor.fake.FakeGateway.Reply;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.restassured.path.json.JsonPath;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import javax.sql.DataSource;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.junit.jupiter.api.Test;

/**
 * With every connection of the shared pool taken (API load), a running step's lease is still
 * renewed: renewal has its own thread and connections, so the live pod keeps its step and the LLM
 * call is not paid twice.
 */
@QuarkusTest
@QuarkusTestResource(ExecutorTestResource.class)
class LeaseRenewalTest {

    @Inject DataSource pool;

    @ConfigProperty(name = "quarkus.datasource.jdbc.url")
    String url;

    @ConfigProperty(name = "quarkus.datasource.username")
    String user;

    @ConfigProperty(name = "quarkus.datasource.password")
    java.util.Optional<String> password;

    @ConfigProperty(name = "quarkus.datasource.jdbc.max-size")
    int poolSize;

    private Timestamp leaseOf(String run) throws Exception {
        try (Connection c = DriverManager.getConnection(url, user, password.orElse(""));
                PreparedStatement ps =
                        c.prepareStatement(
                                "SELECT lease_expires_at FROM executor.steps WHERE run_id = ? AND step_id = 'slow'")) {
            ps.setObject(1, UUID.fromString(run));
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getTimestamp(1);
            }
        }
    }

    @Test
    void leasesAreRenewedWhileTheSharedPoolIsExhausted() throws Exception {
        FakeGateway.script("starve1:", c -> Reply.ok("done").after(5_000));
        Api.publish(
                "renewal",
                "slow",
                "defaults: {model: fast}\nsteps: [{id: slow, agent: {prompt: \"starve1: go\"}}]\n");
        String run = Api.start("renewal/slow", "{}");
        await().atMost(Duration.ofSeconds(10))
                .until(() -> FakeGateway.calls("starve1:").size() == 1);

        List<Connection> held = new ArrayList<>();
        try {
            for (int i = 0; i < poolSize; i++) {
                held.add(pool.getConnection());
            }
            Timestamp before = leaseOf(run);
            // the test lease is 2 s, renewed every third of it: it must move on while the pool is
            // exhausted, well past the point where it would have expired
            await().atMost(Duration.ofSeconds(3)).until(() -> leaseOf(run).after(before));
            Timestamp moved = leaseOf(run);
            await().atMost(Duration.ofSeconds(3)).until(() -> leaseOf(run).after(moved));
        } finally {
            for (Connection c : held) {
                c.close();
            }
        }
        JsonPath ended = Api.ended(run);
        assertEquals("succeeded", ended.getString("status"), ended.prettify());
        assertEquals(1, FakeGateway.calls("starve1:").size(), "the step was never taken away");
    }

    @Inject
    @io.quarkus.agroal.DataSource("leases")
    DataSource renewals;

    @Test
    void everyStatementOnTheExecutorsConnectionsHasADeadline() throws Exception {
        assertEquals("30s", show(pool));
        assertEquals("5s", show(renewals));
    }

    private static String show(DataSource ds) throws Exception {
        try (Connection c = ds.getConnection();
                ResultSet rs = c.createStatement().executeQuery("SHOW statement_timeout")) {
            rs.next();
            return rs.getString(1);
        }
    }
}
