package io.flotilla.testsupport;

import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.Map;

/**
 * Gives a {@code @QuarkusTest} application its own fresh database on the test PostgreSQL ({@link
 * TestPostgres}) and drops it afterwards. Use with {@code @QuarkusTestResource(value =
 * PostgresResource.class, restrictToAnnotatedClass = false)}.
 */
public class PostgresResource implements QuarkusTestResourceLifecycleManager {

    private String database;

    @Override
    public Map<String, String> start() {
        TestPostgres pg = TestPostgres.server();
        database = pg.createDatabase();
        return Map.of(
                "quarkus.datasource.jdbc.url", pg.jdbcUrl(database),
                "quarkus.datasource.reactive.url", pg.reactiveUrl(database),
                "quarkus.datasource.username", pg.user(),
                "quarkus.datasource.password", pg.password());
    }

    @Override
    public void stop() {
        if (database != null) {
            TestPostgres.server().dropDatabase(database);
        }
    }
}
