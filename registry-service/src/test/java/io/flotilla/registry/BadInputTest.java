package io.flotilla.registry;

import static io.restassured.RestAssured.given;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.equalTo;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flotilla.testsupport.PostgresResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.junit.QuarkusTest;
import jakarta.inject.Inject;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.stream.Stream;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

@QuarkusTest
@QuarkusTestResource(PostgresResource.class)
class BadInputTest {

    private static final String VALID_REST = "\"namespace\":\"bad\",\"podName\":\"p1\"";

    @Inject DataSource db;

    static Stream<Arguments> badRegistrations() {
        return Stream.of(
                Arguments.of("missing name and kind", "{" + VALID_REST + "}", 400, "is required"),
                Arguments.of(
                        "missing namespace",
                        "{\"name\":\"w\",\"kind\":\"agent\",\"podName\":\"p1\"}",
                        400,
                        "namespace"),
                Arguments.of(
                        "TTL too short",
                        "{\"name\":\"w\",\"kind\":\"agent\"," + VALID_REST + ",\"ttlSeconds\":0}",
                        400,
                        "ttlSeconds"),
                Arguments.of(
                        "TTL too long",
                        "{\"name\":\"w\",\"kind\":\"agent\","
                                + VALID_REST
                                + ",\"ttlSeconds\":999999}",
                        400,
                        "between 1 and 3600"),
                Arguments.of(
                        "unknown kind",
                        "{\"name\":\"w\",\"kind\":\"robot\"," + VALID_REST + "}",
                        400,
                        "use one of: agent, executor, gateway, tool"),
                Arguments.of(
                        "invalid namespace",
                        "{\"name\":\"w\",\"kind\":\"agent\",\"namespace\":\"Bad_NS\",\"podName\":\"p1\"}",
                        400,
                        "Kubernetes naming"),
                Arguments.of("malformed JSON", "{\"name\":\"w\",", 400, "not valid JSON"),
                Arguments.of(
                        "unknown field",
                        "{\"name\":\"w\",\"kind\":\"agent\"," + VALID_REST + ",\"ttl\":5}",
                        400,
                        "unknown field 'ttl'"),
                Arguments.of(
                        "wrong type",
                        "{\"name\":\"w\",\"kind\":\"agent\","
                                + VALID_REST
                                + ",\"ttlSeconds\":\"soon\"}",
                        400,
                        "ttlSeconds"),
                Arguments.of("empty body", "", 400, "JSON object is required"),
                Arguments.of(
                        "too many capabilities",
                        "{\"name\":\"w\",\"kind\":\"agent\","
                                + VALID_REST
                                + ",\"capabilities\":["
                                + "\"c\",".repeat(40)
                                + "\"c\"]}",
                        400,
                        "at most 32"),
                Arguments.of(
                        "body over the size limit",
                        "{\"name\":\"w\",\"kind\":\"agent\","
                                + VALID_REST
                                + ",\"metadata\":{\"blob\":\""
                                + "x".repeat(70_000)
                                + "\"}}",
                        413,
                        "at most 65536"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badRegistrations")
    void badRegistrationIsRefusedWithAHelpfulProblemAndNothingIsStored(
            String label, String body, int status, String hint) throws SQLException {
        given().header("Authorization", RegistryApi.ADMIN)
                .contentType("application/json")
                .body(body)
                .post("/api/v1/agents")
                .then()
                .statusCode(status)
                .contentType(containsString("application/problem+json"))
                .body("status", equalTo(status))
                .body(containsString(hint))
                .body(org.hamcrest.Matchers.not(containsString("Exception")));
        assertEquals(0, rows());
    }

    @ParameterizedTest(name = "all problems at once")
    @MethodSource("allAtOnce")
    void everyInvalidFieldIsReportedInOneAnswer(String body) {
        given().header("Authorization", RegistryApi.ADMIN)
                .contentType("application/json")
                .body(body)
                .post("/api/v1/agents")
                .then()
                .statusCode(400)
                .body(
                        "errors.field",
                        org.hamcrest.Matchers.hasItems("name", "kind", "ttlSeconds", "metadata"));
    }

    static Stream<String> allAtOnce() {
        return Stream.of(
                "{\"namespace\":\"bad\",\"podName\":\"p1\",\"ttlSeconds\":-5,\"metadata\":{\"bad key!\":\"v\"}}");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("wrongMediaType")
    void wrongContentTypeIsAProblemDocument(String contentType) {
        given().header("Authorization", RegistryApi.ADMIN)
                .contentType(contentType)
                .body("name=w")
                .post("/api/v1/agents")
                .then()
                .statusCode(415)
                .contentType(containsString("application/problem+json"))
                .body("detail", containsString("application/json"));
    }

    static Stream<String> wrongMediaType() {
        return Stream.of("text/plain");
    }

    @AfterEach
    void nothingStored() throws SQLException {
        assertEquals(0, rows(), "a refused request must not leave a row behind");
    }

    private int rows() throws SQLException {
        try (Connection c = db.getConnection();
                Statement s = c.createStatement();
                ResultSet rs =
                        s.executeQuery(
                                "SELECT count(*) FROM registry.agents WHERE namespace = 'bad'")) {
            rs.next();
            return rs.getInt(1);
        }
    }
}
