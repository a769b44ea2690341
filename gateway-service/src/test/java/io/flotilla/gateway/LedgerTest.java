package io.flotilla.gateway;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.flotilla.gateway.fake.GatewayTestResource;
import io.flotilla.gateway.governance.Ledger;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.inject.Inject;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** A ledger row the database refuses is set aside; the rows of its batch are written. */
@QuarkusTest
@QuarkusTestResource(GatewayTestResource.class)
class LedgerTest {

    @Inject Ledger ledger;
    @Inject Pool pool;
    @Inject MeterRegistry meters;

    private static Ledger.Entry entry(UUID id, String model) {
        return new Ledger.Entry(
                id,
                java.time.OffsetDateTime.now(),
                "ledger-test",
                UUID.randomUUID(),
                List.of("tenant:ledger-test"),
                "fast",
                "mock",
                model,
                10,
                5,
                100,
                3,
                200,
                false);
    }

    /** The stored row of request {@code id}, with the columns given. */
    private io.vertx.mutiny.sqlclient.Row stored(UUID id, String columns) {
        return pool.preparedQuery("SELECT " + columns + " FROM gateway.ledger WHERE id = $1")
                .execute(Tuple.of(id))
                .await()
                .atMost(Duration.ofSeconds(5))
                .iterator()
                .next();
    }

    private long rows(UUID id) {
        return pool.preparedQuery("SELECT count(*) FROM gateway.ledger WHERE id = $1")
                .execute(Tuple.of(id))
                .await()
                .atMost(Duration.ofSeconds(5))
                .iterator()
                .next()
                .getLong(0);
    }

    @Test
    void aRowTheDatabaseRefusesIsSetAsideAndTheRestOfItsBatchIsWritten() {
        double before = meters.counter("flotilla.gateway.ledger.set.aside").count();
        UUID good = UUID.randomUUID();
        UUID poison = UUID.randomUUID();
        UUID after = UUID.randomUUID();
        ledger.record(entry(good, "mock-fast"));
        ledger.record(entry(poison, "mock\u0000fast")); // text columns cannot hold NUL
        ledger.record(entry(after, "mock-fast"));

        await().atMost(Duration.ofSeconds(10)).until(() -> rows(good) == 1 && rows(after) == 1);
        assertEquals(0, rows(poison));
        assertEquals(1.0, meters.counter("flotilla.gateway.ledger.set.aside").count() - before);
    }

    @Test
    void scopesWithQuotesBackslashesAndCommasAreStoredAsSent() {
        List<String> scopes =
                List.of("tenant:ledger-test", "run:a\"b", "run:c\\d", "run:e,f {g}", "run:NULL");
        UUID id = UUID.randomUUID();
        ledger.record(
                new Ledger.Entry(
                        id,
                        java.time.OffsetDateTime.now(),
                        "ledger-test",
                        UUID.randomUUID(),
                        scopes,
                        "fast",
                        "mock",
                        "mock-fast",
                        1,
                        1,
                        1,
                        1,
                        200,
                        false));
        await().atMost(Duration.ofSeconds(10)).until(() -> rows(id) == 1);
        assertEquals(scopes, List.of(stored(id, "scopes").getArrayOfStrings(0)));
    }

    @Test
    void aRowSentAgainIsKeptOnceAndNotSetAside() {
        // a batch whose commit reached Postgres but whose answer was lost is sent again
        double before = meters.counter("flotilla.gateway.ledger.set.aside").count();
        UUID twice = UUID.randomUUID();
        UUID other = UUID.randomUUID();
        ledger.record(entry(twice, "mock-fast"));
        await().atMost(Duration.ofSeconds(10)).until(() -> rows(twice) == 1);
        ledger.record(entry(twice, "mock-fast"));
        ledger.record(entry(other, "mock-fast"));

        await().atMost(Duration.ofSeconds(10)).until(() -> rows(other) == 1);
        assertEquals(1, rows(twice));
        assertEquals(0.0, meters.counter("flotilla.gateway.ledger.set.aside").count() - before);
    }

    @Test
    void tabsNewlinesAndBackslashesInTextAreStoredAsSent() {
        String model = "mock\tfast\nline\\N\r";
        UUID id = UUID.randomUUID();
        ledger.record(entry(id, model));
        await().atMost(Duration.ofSeconds(10)).until(() -> rows(id) == 1);
        assertEquals(model, stored(id, "model").getString(0));
    }

    @Test
    void rowIdsAreTimeOrderedVersion7Uuids() {
        UUID first = Ledger.rowId();
        long ms = System.currentTimeMillis();
        UUID later = Ledger.rowId();
        assertEquals(7, first.version());
        assertEquals(2, first.variant());
        long stamp = later.getMostSignificantBits() >>> 16;
        assertTrue(stamp >= ms && stamp <= System.currentTimeMillis(), "the time comes first");
        assertTrue((first.getMostSignificantBits() >>> 16) <= stamp, "ordered by time");
        assertTrue(!first.equals(later));
    }

    @Test
    void everyStatementOnTheGatewaysConnectionsHasADeadline() {
        String timeout =
                pool.query("SHOW statement_timeout")
                        .execute()
                        .await()
                        .atMost(Duration.ofSeconds(5))
                        .iterator()
                        .next()
                        .getString(0);
        assertEquals("10s", timeout);
    }
}
