package io.flotilla.executor.auth;

import io.flotilla.testsupport.TokenReviewResource;
import io.quarkus.test.junit.QuarkusTestProfile;
import java.util.List;

/** The executor with TokenReview against the real test API server. */
public class KubernetesAuth implements QuarkusTestProfile {

    @Override
    public List<TestResourceEntry> testResources() {
        return List.of(new TestResourceEntry(TokenReviewResource.class));
    }
}
