package io.flotilla.gateway.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.flotilla.gateway.fake.GatewayTestResource;
import io.flotilla.testsupport.Hostile;
import io.flotilla.testsupport.Hostile.Attack;
import io.quarkus.test.common.QuarkusTestResource;
import io.quarkus.test.common.http.TestHTTPResource;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.TestProfile;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonObject;
import jakarta.inject.Inject;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * The gateway's adversarial suite: every hostile request is answered 4xx in the API's error format
 * (OpenAI's envelope on /v1, problem documents elsewhere), no table changes, and the service stays
 * healthy.
 */
@QuarkusTest
@TestProfile(Quiet.class)
@QuarkusTestResource(GatewayTestResource.class)
class HostileInputTest {

    private static final String ADMIN = "test-gateway-admin";

    @TestHTTPResource("/")
    URI base;

    @Inject DataSource db;

    private static String chat(String model) {
        return Json.encode(
                Map.of(
                        "model",
                        model,
                        "messages",
                        List.of(Map.of("role", "user", "content", "hello"))));
    }

    private static List<Attack> openAi() {
        List<Attack> out = new ArrayList<>();
        out.addAll(Hostile.bodies("POST", "v1/chat/completions"));
        out.addAll(Hostile.bodies("POST", "v1/embeddings"));
        for (String name : Hostile.NAMES) {
            out.add(Hostile.json("a hostile model", "POST", "v1/chat/completions", chat(name)));
        }
        out.add(
                Hostile.json(
                        "wrong types",
                        "POST",
                        "v1/chat/completions",
                        "{\"model\": 1, \"messages\": \"hi\", \"max_tokens\": \"many\"}"));
        out.add(
                Hostile.json(
                        "a negative max_tokens",
                        "POST",
                        "v1/chat/completions",
                        "{\"model\": \"fast\", \"max_tokens\": -5, \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}"));
        out.add(
                Hostile.json(
                        "an unknown role",
                        "POST",
                        "v1/chat/completions",
                        "{\"model\": \"fast\", \"messages\": [{\"role\": \"root\", \"content\": \"x\"}]}"));
        return out;
    }

    private static List<Attack> admin() {
        List<Attack> out = new ArrayList<>();
        out.addAll(Hostile.bodies("POST", "admin/v1/tenants"));
        out.addAll(Hostile.bodies("PUT", "admin/v1/scopes/tenant:x"));
        out.addAll(Hostile.bodies("PUT", "admin/v1/routes/custom"));
        for (String name : Hostile.NAMES) {
            String s = Hostile.segment(name);
            String quoted = Json.encode(name);
            out.add(
                    Hostile.json(
                            "a hostile tenant",
                            "POST",
                            "admin/v1/tenants",
                            "{\"id\": " + quoted + "}"));
            out.add(new Attack("a hostile tenant", "DELETE", "admin/v1/tenants/" + s, null, null));
            out.add(
                    Hostile.json(
                            "a hostile scope",
                            "PUT",
                            "admin/v1/scopes/" + s,
                            "{\"tenant\": \"hostile-t\", \"maxTokens\": 5}"));
            out.add(new Attack("a hostile scope", "GET", "admin/v1/scopes/" + s, null, null));
            out.add(
                    Hostile.json(
                            "a hostile route", "PUT", "admin/v1/routes/" + s, "{\"targets\": []}"));
            out.add(new Attack("a hostile key id", "DELETE", "admin/v1/keys/" + s, null, null));
            out.add(
                    new Attack(
                            "a hostile usage query",
                            "GET",
                            "api/v1/usage?groupBy=" + s,
                            null,
                            null));
            out.add(
                    new Attack(
                            "a hostile usage query", "GET", "api/v1/usage?from=" + s, null, null));
            if (name.chars().anyMatch(c -> c < 0x20) || name.length() > 100) {
                out.add(
                        Hostile.json(
                                "a hostile key name",
                                "POST",
                                "admin/v1/tenants/hostile-t/keys",
                                "{\"name\": " + quoted + ", \"allowedModels\": [\"fast\"]}"));
            }
        }
        out.add(
                Hostile.json(
                        "a scope with wrong types",
                        "PUT",
                        "admin/v1/scopes/tenant:hostile-t",
                        "{\"tenant\": [], \"maxTokens\": \"lots\", \"rpm\": -1}"));
        out.add(
                Hostile.json(
                        "a scope with overflowing limits",
                        "PUT",
                        "admin/v1/scopes/tenant:hostile-t",
                        "{\"tenant\": \"hostile-t\", \"maxTokens\": 99999999999999999999999}"));
        return out;
    }

    @Test
    void hostileRequestsAreRefusedInTheApisFormatChangeNothingAndLeaveTheServiceHealthy()
            throws Exception {
        Hostile.Answer tenant =
                Hostile.send(
                        base,
                        Hostile.json(
                                "setup", "POST", "admin/v1/tenants", "{\"id\": \"hostile-t\"}"),
                        ADMIN);
        assertEquals(201, tenant.status(), tenant.body());
        Hostile.Answer key =
                Hostile.send(
                        base,
                        Hostile.json(
                                "setup",
                                "POST",
                                "admin/v1/tenants/hostile-t/keys",
                                "{\"name\": \"k\", \"allowedModels\": [\"*\"]}"),
                        ADMIN);
        assertEquals(201, key.status(), key.body());
        String secret = new JsonObject(key.body()).getString("key");

        Map<String, Long> before = Hostile.counts(db, "gateway");
        List<String> wrong =
                Hostile.notRefused(
                        base,
                        openAi(),
                        secret,
                        r ->
                                r.contentType().startsWith("application/json")
                                        && r.body().contains("\"error\""));
        wrong.addAll(Hostile.notRefused(base, admin(), ADMIN, Hostile::problem));
        wrong.addAll(
                Hostile.oversizedHeadersNotRefused(
                        base,
                        // no body: the client is not still sending when the server answers 431
                        new Attack("a header", "GET", "v1/models", null, null),
                        secret));
        assertEquals(List.of(), wrong, "hostile requests not refused in the API's error format");
        assertEquals(before, Hostile.counts(db, "gateway"), "rows changed");
        assertEquals(200, Hostile.readiness(base));
    }
}
