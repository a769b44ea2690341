package io.flotilla.executor.hostile;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/** The executor on a database of its own with its engine off: only the test changes rows. */
public class Quiet implements QuarkusTestProfile {

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("flotilla.executor.engine-enabled", "false");
    }
}
