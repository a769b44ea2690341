package io.flotilla.registry.auth;

import io.flotilla.testsupport.TokenReviewResource;
import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.List;
import java.util.Map;

/** The registry with TokenReview against the real test API server and a small namespace cap. */
public class KubernetesAuth implements QuarkusTestProfile {

    static final int CAP = 3;

    @Override
    public Map<String, String> getConfigOverrides() {
        return Map.of("flotilla.registry.max-per-namespace", String.valueOf(CAP));
    }

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(TokenReviewResource.class));
    }
}
