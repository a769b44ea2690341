package io.flotilla.executor.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flotilla.executor.fake.ExecutorTestResource;
import io.flotilla.testsupport.Hostile;
import io.flotilla.testsupport.Hostile.Attack;
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
 * The executor's adversarial suite: every hostile request is answered 4xx as a problem document, no
 * table changes, and the service stays healthy.
 */
@QuarkusTest
@TestProfile(Quiet.class)
@QuarkusTestResource(ExecutorTestResource.class)
class HostileInputTest {

    private static final String ADMIN = "test-executor-admin";
    private static final String VALID =
            "defaults: {model: fast}\nsteps: [{id: a, agent: {prompt: x}}]\n";

    @TestHTTPResource("/")
    URI base;

    @Inject DataSource db;

    private static List<Attack> attacks() {
        List<Attack> out = new ArrayList<>();
        out.addAll(Hostile.bodies("POST", "api/v1/runs"));
        out.addAll(Hostile.bodies("PUT", "api/v1/workflows/team/wf"));
        for (String name : Hostile.NAMES) {
            String s = Hostile.segment(name);
            out.add(yaml("a hostile namespace", "api/v1/workflows/" + s + "/wf"));
            out.add(yaml("a hostile workflow name", "api/v1/workflows/team/" + s));
            out.add(new Attack("a hostile run id", "GET", "api/v1/runs/" + s, null, null));
            out.add(
                    new Attack(
                            "a hostile run id",
                            "POST",
                            "api/v1/runs/" + s + "/cancel",
                            null,
                            null));
            out.add(
                    new Attack(
                            "a hostile run id", "GET", "api/v1/runs/" + s + "/events", null, null));
            out.add(new Attack("a hostile filter", "GET", "api/v1/runs?workflow=" + s, null, null));
            out.add(new Attack("a hostile filter", "GET", "api/v1/runs?status=" + s, null, null));
            out.add(
                    Hostile.json(
                            "a hostile workflow in a run",
                            "POST",
                            "api/v1/runs",
                            "{\"workflow\": " + quote(name) + "}"));
            out.add(
                    Hostile.json(
                            "a hostile idempotency key",
                            "POST",
                            "api/v1/runs",
                            "{\"workflow\": \"team/missing\", \"idempotencyKey\": "
                                    + quote(name)
                                    + "}"));
        }
        out.add(new Attack("a negative limit", "GET", "api/v1/runs?limit=-1", null, null));
        out.add(new Attack("a huge limit", "GET", "api/v1/runs?limit=99999999999", null, null));
        out.add(
                Hostile.json(
                        "wrong types in a run",
                        "POST",
                        "api/v1/runs",
                        "{\"workflow\": 42, \"input\": \"x\", \"budget\": {\"maxTokens\": \"lots\"}}"));
        out.add(
                Hostile.json(
                        "a NUL in a run's input",
                        "POST",
                        "api/v1/runs",
                        "{\"workflow\": \"team/missing\", \"input\": {\"t\": \"a\\u0000b\"}}"));
        out.add(yamlBody("a NUL in a workflow", VALID.replace("prompt: x", "prompt: \"a\\0b\"")));
        out.add(yamlBody("YAML that is not a workflow", "- just\n- a list\n"));
        out.add(yamlBody("a YAML alias bomb", bomb()));
        out.add(yamlBody("a YAML tag", "!!java.lang.ProcessBuilder [[\"true\"]]\n"));
        return out;
    }

    private static Attack yaml(String label, String path) {
        return new Attack(label, "PUT", path, "application/yaml", VALID.getBytes());
    }

    private static Attack yamlBody(String label, String body) {
        return new Attack(
                label, "PUT", "api/v1/workflows/team/hostile", "application/yaml", body.getBytes());
    }

    /** A billion laughs: aliases that expand exponentially. */
    private static String bomb() {
        StringBuilder y =
                new StringBuilder(
                        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
        char prev = 'a';
        for (char c = 'b'; c <= 'i'; c++) {
            y.append(c).append(": &").append(c).append(" [");
            for (int i = 0; i < 9; i++) {
                y.append(i == 0 ? "" : ",").append('*').append(prev);
            }
            y.append("]\n");
            prev = c;
        }
        return y.append("steps: *i\n").toString();
    }

    private static String quote(String s) {
        return io.vertx.core.json.Json.encode(s);
    }

    @Test
    void hostileRequestsAreRefusedAsProblemsChangeNothingAndLeaveTheServiceHealthy()
            throws Exception {
        Map<String, Long> before = Hostile.counts(db, "executor");
        List<String> wrong = Hostile.notRefused(base, attacks(), ADMIN, Hostile::problem);
        wrong.addAll(
                Hostile.oversizedHeadersNotRefused(
                        base, new Attack("a header", "GET", "api/v1/runs", null, null), ADMIN));
        assertEquals(List.of(), wrong, "hostile requests not refused as 4xx problems");
        assertEquals(before, Hostile.counts(db, "executor"), "rows changed");
        assertEquals(200, Hostile.readiness(base));
    }
}
