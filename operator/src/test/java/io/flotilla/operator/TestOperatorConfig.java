package io.flotilla.operator;

import io.flotilla.operator.config.OperatorConfig;
import java.time.Duration;
import java.util.Optional;

/** Operator settings for tests that build the operator's beans by hand. */
public final class TestOperatorConfig {

    private TestOperatorConfig() {}

    /** The defaults, with this executor; cleanup gives up after 2 minutes. */
    public static OperatorConfig of(String executorUrl) {
        return new OperatorConfig() {
            public String executorUrl() {
                return executorUrl;
            }

            public Optional<String> executorToken() {
                return Optional.of(StackResource.EXECUTOR_ADMIN);
            }

            public String registryUrl() {
                return "http://127.0.0.1:1";
            }

            public Optional<String> registryAdminToken() {
                return Optional.empty();
            }

            public Duration gcInterval() {
                return Duration.ofSeconds(10);
            }

            public Duration runPoll() {
                return Duration.ofSeconds(2);
            }

            public boolean serverSideApply() {
                return false;
            }

            public boolean installCrds() {
                return false;
            }

            public boolean leaderElection() {
                return false;
            }

            public String leaseName() {
                return "flotilla-operator";
            }

            public Duration cleanupTimeout() {
                return Duration.ofMinutes(2);
            }
        };
    }
}
