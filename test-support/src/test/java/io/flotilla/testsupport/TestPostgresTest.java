package io.flotilla.testsupport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import org.junit.jupiter.api.Test;

class TestPostgresTest {

    @Test
    void eachCallerGetsAnIsolatedDatabaseThatIsDroppedAfterwards() throws SQLException {
        TestPostgres pg = TestPostgres.server();
        String a = pg.createDatabase();
        String b = pg.createDatabase();
        assertNotEquals(a, b);
        try {
            try (Connection c =
                            DriverManager.getConnection(pg.jdbcUrl(a), pg.user(), pg.password());
                    Statement s = c.createStatement()) {
                s.execute("CREATE TABLE marker(x int)");
                s.execute("INSERT INTO marker VALUES (42)");
            }
            try (Connection c =
                            DriverManager.getConnection(pg.jdbcUrl(b), pg.user(), pg.password());
                    Statement s = c.createStatement();
                    ResultSet rs =
                            s.executeQuery(
                                    "SELECT count(*) FROM pg_tables WHERE tablename = 'marker'")) {
                rs.next();
                assertEquals(
                        0,
                        rs.getInt(1),
                        "a table made in one test database must not be visible in another");
            }
        } finally {
            pg.dropDatabase(a);
            pg.dropDatabase(b);
        }
        assertThrows(
                SQLException.class,
                () -> DriverManager.getConnection(pg.jdbcUrl(a), pg.user(), pg.password()).close());
        assertFalse(pg.origin().isBlank());
    }
}
