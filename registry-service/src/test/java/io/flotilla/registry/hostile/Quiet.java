package io.flotilla.registry.hostile;

import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.Map;

/** The registry on a database of its own: only the test changes rows. */
public class Quiet implements QuarkusTestProfile {

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("flotilla.registry.sweep.interval", "1h");
    }
}
