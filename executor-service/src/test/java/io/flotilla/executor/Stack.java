package io.flotilla.executor;

import io.flotilla.testsupport.HttpCalls;
import io.flotilla.testsupport.ServiceProcess;
import io.flotilla.testsupport.TestPostgres;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Flotilla as processes for the end-to-end ITs: a registry and a gateway on one fresh test
 * database, a tenant with the executor's key (runScopes), and executors started on demand. {@code
 * env} goes to every process (e.g. tracing settings).
 */
final class Stack implements AutoCloseable {

    static final String GATEWAY_ADMIN = "it-gateway-admin";
    static final String EXECUTOR_ADMIN = "it-executor-admin";
    static final String REGISTRY_ADMIN = "it-registry-admin";

    final TestPostgres pg = TestPostgres.server();
    final String database = pg.createDatabase();
    final ServiceProcess registry;
    final ServiceProcess gateway;
    final String tenant;
    final String key;
    private final Map<String, String> env;
    private final List<ServiceProcess> processes = new ArrayList<>();

    /**
     * @param routes the gateway's routes file
     * @param gatewayEnv more environment of the gateway (e.g. a provider key)
     */
    Stack(String tenant, String routes, Map<String, String> gatewayEnv, Map<String, String> env)
            throws Exception {
        this.tenant = tenant;
        this.env = env;
        Path file = Files.createTempFile("it-routes", ".yaml");
        Files.writeString(file, routes);
        registry =
                start(
                        "registry",
                        "registry.jar",
                        Map.of(
                                "FLOTILLA_REGISTRY_ADMIN_TOKEN", REGISTRY_ADMIN,
                                "FLOTILLA_REGISTRY_TTL_MIN_SECONDS", "1",
                                "FLOTILLA_REGISTRY_SWEEP_INTERVAL", "500ms"));
        Map<String, String> g = new HashMap<>(gatewayEnv);
        g.put("FLOTILLA_GATEWAY_ROUTES_FILE", file.toString());
        g.put("FLOTILLA_GATEWAY_ADMIN_TOKEN", GATEWAY_ADMIN);
        gateway = start("gateway", "gateway.jar", g);
        registry.awaitReady();
        gateway.awaitReady();
        HttpCalls.call(
                        "POST",
                        gateway.url() + "/admin/v1/tenants",
                        GATEWAY_ADMIN,
                        "{\"id\":\"" + tenant + "\"}")
                .expect(201);
        key =
                HttpCalls.call(
                                "POST",
                                gateway.url() + "/admin/v1/tenants/" + tenant + "/keys",
                                GATEWAY_ADMIN,
                                "{\"name\":\"executors\",\"allowedModels\":[\"*\"],\"runScopes\":true}")
                        .expect(201)
                        .json()
                        .get("key")
                        .asText();
    }

    /** An executor wired to this stack, with {@code more} environment; started and ready. */
    ServiceProcess executor(String name, Map<String, String> more) throws Exception {
        Map<String, String> e = new HashMap<>(more);
        e.put("FLOTILLA_EXECUTOR_ADMIN_TOKEN", EXECUTOR_ADMIN);
        e.put("FLOTILLA_EXECUTOR_GATEWAY_URL", gateway.url());
        e.put("FLOTILLA_EXECUTOR_GATEWAY_API_KEY", key);
        e.put("FLOTILLA_EXECUTOR_GATEWAY_TENANT", tenant);
        e.put("FLOTILLA_EXECUTOR_REGISTRY_URL", registry.url());
        e.put("FLOTILLA_EXECUTOR_REGISTRY_TOKEN", REGISTRY_ADMIN);
        return start(name, "executor.jar", e).awaitReady();
    }

    private ServiceProcess start(String name, String jar, Map<String, String> own)
            throws Exception {
        Map<String, String> all = new HashMap<>(env);
        all.putAll(own);
        ServiceProcess p = ServiceProcess.start(name, jar, pg, database, all);
        processes.add(p);
        return p;
    }

    Connection db() throws SQLException {
        return DriverManager.getConnection(pg.jdbcUrl(database), pg.user(), pg.password());
    }

    /** Stops every process (SIGTERM: logs and spans are flushed). */
    void stopProcesses() throws InterruptedException {
        for (ServiceProcess p : processes) {
            p.close();
        }
    }

    @Override
    public void close() throws Exception {
        stopProcesses();
        pg.dropDatabase(database);
    }
}
