package io.flotilla.executor.fake;

import io.flotilla.testsupport.PostgresResource;
import java.util.HashMap;
import java.util.Map;

/**
 * The executor's tests: a fresh database, a {@link FakeGateway} the engine calls, and a {@link
 * FakeTool} its tools call.
 */
public class ExecutorTestResource extends PostgresResource {

    public static final String API_KEY = "fl-test-key";

    private FakeGateway gateway;
    private FakeTool tool;

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
        tool = new FakeTool();
        try {
            tool.start();
        } catch (Exception e) {
            throw new IllegalStateException("fake tool service did not start", e);
        }
        // tools reach the fake tool service on 127.0.0.1; ::1 is an allowed host whose address is
        // not allowed (the egress policy refuses it before connecting)
        config.put("flotilla.executor.tools.allowed-hosts", "127.0.0.1,::1");
        config.put("flotilla.executor.tools.allowed-addresses", "127.0.0.1/32");
        config.put("flotilla.executor.gateway.api-key", API_KEY);
        config.put("flotilla.executor.gateway.tenant", "tests");
        return config;
    }

    @Override
    public void stop() {
        if (gateway != null) {
            gateway.stop();
        }
        if (tool != null) {
            tool.stop();
        }
        super.stop();
    }
}
