package io.flotilla.registry.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flotilla.testsupport.Hostile;
import io.flotilla.testsupport.Hostile.Attack;
import io.flotilla.testsupport.PostgresResource;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import jakarta.inject.Inject;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * The registry's adversarial suite: every hostile request is answered 4xx as a problem document, no
 * table changes, and the service stays healthy.
 */
@QuarkusTest
@TestProfile(Quiet.class)
@QuarkusTestResource(PostgresResource.class)
class HostileInputTest {

    private static final String ADMIN = "test-admin-credential";

    @TestHTTPResource("/")
    URI base;

    @Inject DataSource db;

    private static String agent(String field, String value) {
        Map<String, String> fields =
                new java.util.HashMap<>(
                        Map.of(
                                "name", "w",
                                "kind", "agent",
                                "namespace", "team",
                                "podName", "pod-1"));
        fields.put(field, value);
        return io.vertx.core.json.Json.encode(fields);
    }

    private static List<Attack> attacks() {
        List<Attack> out = new ArrayList<>();
        out.addAll(Hostile.bodies("POST", "api/v1/agents"));
        out.addAll(Hostile.bodies("POST", "api/v1/tokens/verify"));
        for (String name : Hostile.NAMES) {
            String s = Hostile.segment(name);
            for (String field : List.of("name", "kind", "namespace", "podName", "workflow")) {
                out.add(
                        Hostile.json(
                                "a hostile " + field, "POST", "api/v1/agents", agent(field, name)));
            }
            if (name.chars().anyMatch(c -> c < 0x20) || name.length() > 1000) {
                // any other string is a fine metadata value (it is data, shown escaped)
                out.add(
                        Hostile.json(
                                "hostile metadata",
                                "POST",
                                "api/v1/agents",
                                "{\"name\":\"w\",\"kind\":\"agent\",\"namespace\":\"team\",\"podName\":\"p\","
                                        + "\"metadata\":{\"k\":"
                                        + io.vertx.core.json.Json.encode(name)
                                        + "}}"));
            }
            out.add(new Attack("a hostile id", "GET", "api/v1/agents/" + s, null, null));
            out.add(new Attack("a hostile id", "DELETE", "api/v1/agents/" + s, null, null));
            out.add(new Attack("a hostile filter", "GET", "api/v1/agents?status=" + s, null, null));
        }
        out.add(new Attack("a huge limit", "GET", "api/v1/agents?limit=99999999999", null, null));
        out.add(
                Hostile.json(
                        "wrong types",
                        "POST",
                        "api/v1/agents",
                        "{\"name\": 1, \"kind\": [], \"namespace\": {}, \"podName\": true, \"ttlSeconds\": \"long\"}"));
        out.add(
                Hostile.json(
                        "an overflowing TTL",
                        "POST",
                        "api/v1/agents",
                        "{\"name\":\"w\",\"kind\":\"agent\",\"namespace\":\"team\",\"podName\":\"p\","
                                + "\"ttlSeconds\": 99999999999999999999}"));
        out.add(
                Hostile.json(
                        "a NUL in a token",
                        "POST",
                        "api/v1/tokens/verify",
                        "{\"token\": \"a\\u0000b\"}"));
        return out;
    }

    @Test
    void hostileRequestsAreRefusedAsProblemsChangeNothingAndLeaveTheServiceHealthy()
            throws Exception {
        Map<String, Long> before = Hostile.counts(db, "registry");
        List<String> wrong = Hostile.notRefused(base, attacks(), ADMIN, Hostile::problem);
        // a registration's token of a hostile shape, on the heartbeat route
        List<Attack> beats = new ArrayList<>();
        for (String hostile : Hostile.NAMES) {
            beats.add(
                    new Attack(
                            "a heartbeat with a hostile id",
                            "PUT",
                            "api/v1/agents/" + Hostile.segment(hostile) + "/heartbeat",
                            null,
                            null));
        }
        wrong.addAll(Hostile.notRefused(base, beats, "flt_agent_forged", Hostile::problem));
        wrong.addAll(
                Hostile.oversizedHeadersNotRefused(
                        base, new Attack("a header", "GET", "api/v1/agents", null, null), ADMIN));
        assertEquals(List.of(), wrong, "hostile requests not refused as 4xx problems");
        assertEquals(before, Hostile.counts(db, "registry"), "rows changed");
        assertEquals(200, Hostile.readiness(base));
    }
}
