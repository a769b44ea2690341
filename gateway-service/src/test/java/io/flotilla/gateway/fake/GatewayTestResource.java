package io.flotilla.gateway.fake;

import io.flotilla.testsupport.PostgresResource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The gateway's test world: its own database (as every service test) plus the fake upstream and a
 * routes file pointing at it. One resource, so every gateway test class shares one application.
 */
public class GatewayTestResource extends PostgresResource {

    private final FakeUpstream fake = new FakeUpstream();
    private TcpProxy proxy;

    @Override
    public Map<String, String> start() {
        Map<String, String> config = new HashMap<>(super.start());
        try {
            // requests reach PostgreSQL through a proxy that tests can cut (Flyway's JDBC goes
            // direct)
            java.net.URI db = java.net.URI.create(config.get("quarkus.datasource.reactive.url"));
            proxy = new TcpProxy(db.getHost(), db.getPort());
            int proxyPort = proxy.start();
            config.put(
                    "quarkus.datasource.reactive.url",
                    "postgresql://127.0.0.1:" + proxyPort + db.getPath());
            int port = fake.start();
            String routes =
                    new String(
                                    GatewayTestResource.class
                                            .getResourceAsStream("/test-routes.yaml")
                                            .readAllBytes())
                            .replace("FAKE_PORT", String.valueOf(port));
            Path file = Files.createTempFile("flotilla-routes", ".yaml");
            Files.writeString(file, routes);
            file.toFile().deleteOnExit();
            config.put("flotilla.gateway.routes-file", file.toString());
        } catch (Exception e) {
            throw new IllegalStateException("could not start the fake upstream", e);
        }
        return config;
    }

    @Override
    public void stop() {
        fake.stop();
        if (proxy != null) {
            proxy.stop();
        }
        super.stop();
    }
}
