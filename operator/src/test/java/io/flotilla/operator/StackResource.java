package io.flotilla.operator;

import io.flotilla.testsupport.HttpCalls;
import io.flotilla.testsupport.ServiceProcess;
import io.flotilla.testsupport.TestPostgres;
import io.quarkus.test.common.QuarkusTestResourceLifecycleManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The real services the operator drives, as processes on one fresh database: the registry, the
 * gateway (mock provider; the "slow" alias answers after 300 ms) and the executor.
 */
public class StackResource implements QuarkusTestResourceLifecycleManager {

    public static final String REGISTRY_ADMIN = "operator-test-registry-admin";
    public static final String EXECUTOR_ADMIN = "operator-test-executor-admin";
    static final String GATEWAY_ADMIN = "operator-test-gateway-admin";
    public static String executorUrl;
    public static String registryUrl;

    private final List<ServiceProcess> processes = new ArrayList<>();
    private TestPostgres pg;
    private ServiceProcess executor;
    private String database;

    @Override
    public Map<String, String> start() {
        try {
            pg = TestPostgres.server();
            database = pg.createDatabase();
            Path routes = Files.createTempFile("operator-routes", ".yaml");
            Files.writeString(
                    routes,
                    """
                    providers:
                      mock: {type: mock}
                      slowmock: {type: mock, latency: 300ms}
                    routes:
                      fast: {targets: [{provider: mock, model: mock-fast, prices: {input: 0.15, output: 0.60}}]}
                      smart: {targets: [{provider: mock, model: mock-smart, prices: {input: 2.50, output: 10.00}}]}
                      slow: {targets: [{provider: slowmock, model: mock-slow}]}
                    """);
            ServiceProcess registry =
                    add(
                            ServiceProcess.start(
                                    "op-registry",
                                    "registry.jar",
                                    pg,
                                    database,
                                    Map.of("FLOTILLA_REGISTRY_ADMIN_TOKEN", REGISTRY_ADMIN)));
            ServiceProcess gateway =
                    add(
                            ServiceProcess.start(
                                    "op-gateway",
                                    "gateway.jar",
                                    pg,
                                    database,
                                    Map.of(
                                            "FLOTILLA_GATEWAY_ADMIN_TOKEN",
                                            GATEWAY_ADMIN,
                                            "FLOTILLA_GATEWAY_ROUTES_FILE",
                                            routes.toString())));
            gateway.awaitReady();
            HttpCalls.call(
                            "POST",
                            gateway.url() + "/admin/v1/tenants",
                            GATEWAY_ADMIN,
                            "{\"id\":\"ops\"}")
                    .expect(201);
            String key =
                    HttpCalls.call(
                                    "POST",
                                    gateway.url() + "/admin/v1/tenants/ops/keys",
                                    GATEWAY_ADMIN,
                                    "{\"name\":\"executor\",\"allowedModels\":[\"*\"],\"runScopes\":true}")
                            .expect(201)
                            .json()
                            .get("key")
                            .asText();
            executor =
                    add(
                            ServiceProcess.start(
                                    "op-executor",
                                    "executor.jar",
                                    pg,
                                    database,
                                    Map.of(
                                            "FLOTILLA_EXECUTOR_GATEWAY_URL",
                                            gateway.url(),
                                            "FLOTILLA_EXECUTOR_GATEWAY_API_KEY",
                                            key,
                                            "FLOTILLA_EXECUTOR_GATEWAY_TENANT",
                                            "ops",
                                            "FLOTILLA_EXECUTOR_ADMIN_TOKEN",
                                            EXECUTOR_ADMIN)));
            registry.awaitReady();
            executor.awaitReady();
            executorUrl = executor.url();
            registryUrl = registry.url();
            return Map.of(
                    "flotilla.operator.executor-url",
                    executorUrl,
                    "flotilla.operator.executor-token",
                    EXECUTOR_ADMIN,
                    "flotilla.operator.registry-url",
                    registryUrl,
                    "flotilla.operator.registry-admin-token",
                    REGISTRY_ADMIN);
        } catch (Exception e) {
            stop();
            throw new IllegalStateException("the services did not start", e);
        }
    }

    /** Stops the executor (SIGTERM), for tests of what happens when it is gone. */
    public void stopExecutor() throws InterruptedException {
        executor.close();
    }

    private ServiceProcess add(ServiceProcess p) {
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
