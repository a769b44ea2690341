package io.flotilla.console;

import io.flotilla.testsupport.HttpCalls;
import io.flotilla.testsupport.ServiceProcess;
import io.flotilla.testsupport.TestPostgres;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The services the console reads, as real processes on one fresh test database: a registry, a
 * gateway on its built-in mock provider, an executor. Two tenants: {@code team-a} (the executor's
 * runs are charged to it, and it may see namespace team-a) and {@code team-b}, each with a virtual
 * key people sign in with. Their URLs and keys go to the tests as system properties.
 */
public class Services implements QuarkusTestResourceLifecycleManager {

    static final String GATEWAY_ADMIN = "console-it-gateway-admin";
    static final String EXECUTOR_ADMIN = "console-it-executor-admin";
    static final String REGISTRY_ADMIN = "console-it-registry-admin";

    private final List<ServiceProcess> processes = new ArrayList<>();
    private TestPostgres pg;
    private String database;

    @Override
    public Map<String, String> start() {
        try {
            pg = TestPostgres.server();
            database = pg.createDatabase();
            String db = database;
            ServiceProcess registry =
                    start(
                            pg,
                            db,
                            "registry",
                            "registry.jar",
                            Map.of("FLOTILLA_REGISTRY_ADMIN_TOKEN", REGISTRY_ADMIN));
            ServiceProcess gateway =
                    start(
                            pg,
                            db,
                            "gateway",
                            "gateway.jar",
                            Map.of("FLOTILLA_GATEWAY_ADMIN_TOKEN", GATEWAY_ADMIN));
            registry.awaitReady();
            gateway.awaitReady();
            Map<String, String> keys = new HashMap<>();
            for (String tenant : List.of("team-a", "team-b")) {
                HttpCalls.call(
                                "POST",
                                gateway.url() + "/admin/v1/tenants",
                                GATEWAY_ADMIN,
                                "{\"id\":\"" + tenant + "\"}")
                        .expect(201);
                keys.put(
                        tenant,
                        HttpCalls.call(
                                        "POST",
                                        gateway.url() + "/admin/v1/tenants/" + tenant + "/keys",
                                        GATEWAY_ADMIN,
                                        "{\"name\":\"people\",\"allowedModels\":[\"*\"],\"runScopes\":"
                                                + tenant.equals("team-a")
                                                + "}")
                                .expect(201)
                                .json()
                                .get("key")
                                .asText());
            }
            Map<String, String> e = new HashMap<>();
            e.put("FLOTILLA_EXECUTOR_ADMIN_TOKEN", EXECUTOR_ADMIN);
            e.put("FLOTILLA_EXECUTOR_GATEWAY_URL", gateway.url());
            e.put("FLOTILLA_EXECUTOR_GATEWAY_API_KEY", keys.get("team-a"));
            e.put("FLOTILLA_EXECUTOR_GATEWAY_TENANT", "team-a");
            e.put("FLOTILLA_EXECUTOR_REGISTRY_URL", registry.url());
            e.put("FLOTILLA_EXECUTOR_REGISTRY_TOKEN", REGISTRY_ADMIN);
            e.put("FLOTILLA_EXECUTOR_POLL", "250ms");
            ServiceProcess executor = start(pg, db, "executor", "executor.jar", e).awaitReady();
            System.setProperty("console.it.gateway", gateway.url());
            System.setProperty("console.it.executor", executor.url());
            System.setProperty("console.it.key.team-a", keys.get("team-a"));
            System.setProperty("console.it.key.team-b", keys.get("team-b"));
            return Map.of(
                    "flotilla.console.gateway.url",
                    gateway.url(),
                    "flotilla.console.gateway.admin-token",
                    GATEWAY_ADMIN,
                    "flotilla.console.executor.url",
                    executor.url(),
                    "flotilla.console.executor.admin-token",
                    EXECUTOR_ADMIN,
                    "flotilla.console.registry.url",
                    registry.url(),
                    "flotilla.console.registry.admin-token",
                    REGISTRY_ADMIN);
        } catch (Exception ex) {
            stop();
            throw new IllegalStateException("the services did not start: " + ex.getMessage(), ex);
        }
    }

    private ServiceProcess start(
            TestPostgres pg, String db, String name, String jar, Map<String, String> env)
            throws Exception {
        ServiceProcess p = ServiceProcess.start("console-" + name, jar, pg, db, env);
        processes.add(p);
        return p;
    }

    @Override
    public void stop() {
        for (ServiceProcess p : processes) {
            try {
                p.close();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (database != null) {
            pg.dropDatabase(database);
        }
    }
}
