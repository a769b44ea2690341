package io.flotilla.executor.fake;

import io.flotilla.testsupport.PostgresResource;
import java.util.HashMap;
import java.util.Map;

/** The executor's tests: a fresh database and a {@link FakeGateway} the engine calls. */
public class ExecutorTestResource extends PostgresResource {

    public static final String API_KEY = "fl-test-key";

    private FakeGateway gateway;

    @Override
    public Map<String, String> start() {
        Map<String, String> config = new HashMap<>(super.start());
        gateway = new FakeGateway();
        try {
            int port = gateway.start();
            config.put("flotilla.executor.gateway.url", "http://127.0.0.1:" + port);
        } catch (Exception e) {
            throw new IllegalStateException("fake gateway did not start", e);
        }
        config.put("flotilla.executor.gateway.api-key", API_KEY);
        config.put("flotilla.executor.gateway.tenant", "tests");
        return config;
    }

    @Override
    public void stop() {
        if (gateway != null) {
            gateway.stop();
        }
        super.stop();
    }
}
