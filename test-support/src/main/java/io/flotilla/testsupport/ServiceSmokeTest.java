package io.flotilla.testsupport;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * What every Flotilla service with a database must do at start: answer {@code /q/health} as UP
 * (database checks included) and have migrated its own schema with Flyway. A module extends this
 * with {@code @QuarkusTest} and names its schema.
 */
public abstract class ServiceSmokeTest {

    @Inject protected DataSource db;

    /** The schema the service owns. */
    protected abstract String schema();

    @Test
    void healthIsUp() {
        given().get("/q/health").then().statusCode(200).body("status", equalTo("UP"));
    }

    @Test
    void ownSchemaIsMigratedAtStart() throws SQLException {
        try (Connection c = db.getConnection();
                PreparedStatement s =
                        c.prepareStatement(
                                "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = 'flyway_schema_history'")) {
            s.setString(1, schema());
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                assertTrue(rs.getInt(1) == 1, "Flyway history in schema " + schema());
            }
        }
    }
}
