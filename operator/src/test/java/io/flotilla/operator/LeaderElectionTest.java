package io.flotilla.operator;

import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectRulesReviewBuilder;
import io.fabric8.kubernetes.api.model.coordination.v1.Lease;
import io.fabric8.kubernetes.api.model.coordination.v1.LeaseBuilder;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.flotilla.operator.crd.v1alpha1.Workflow;
import io.quarkus.test.junit.QuarkusTest;
import io.quarkus.test.junit.QuarkusTestProfile;
import io.quarkus.test.junit.TestProfile;
import io.quarkus.test.kubernetes.client.KubernetesServer;
import io.quarkus.test.kubernetes.client.WithKubernetesTestServer;
import jakarta.inject.Inject;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

/**
 * Two replicas, one lease: this operator starts while another replica holds the lease, stays a
 * standby (caches warm, nothing reconciled), and takes over once that lease is gone.
 */
@QuarkusTest
@TestProfile(LeaderElectionTest.Standby.class)
@WithKubernetesTestServer(crud = true, setup = LeaderElectionTest.AnotherReplicaLeads.class)
class LeaderElectionTest {

    static final String OTHER = "flotilla-operator-7d9f-other";

    public static class Standby implements QuarkusTestProfile {
        @Override
        public Map<String, String> getConfigOverrides() {
            // nobody listens at the executor: a reconciled Workflow shows
            // Ready=False/ExecutorUnavailable
            return Map.of(
                    "flotilla.operator.leader-election",
                    "true",
                    "flotilla.operator.executor-url",
                    "http://127.0.0.1:1");
        }
    }

    /**
     * Before the operator starts: the API server grants lease access, and another replica holds the
     * lease.
     */
    public static class AnotherReplicaLeads implements Consumer<KubernetesServer> {
        @Override
        public void accept(KubernetesServer server) {
            server.expect()
                    .post()
                    .withPath("/apis/authorization.k8s.io/v1/selfsubjectrulesreviews")
                    .andReturn(
                            201,
                            new SelfSubjectRulesReviewBuilder()
                                    .withNewStatus()
                                    .withIncomplete(false)
                                    .addNewResourceRule()
                                    .withApiGroups("coordination.k8s.io")
                                    .withResources("leases")
                                    .withVerbs("get", "create", "update")
                                    .endResourceRule()
                                    .endStatus()
                                    .build())
                    .always();
            server.getClient()
                    .leases()
                    .resource(
                            new LeaseBuilder()
                                    .withNewMetadata()
                                    .withName("flotilla-operator")
                                    .endMetadata()
                                    .withNewSpec()
                                    .withHolderIdentity(OTHER)
                                    .withLeaseDurationSeconds(600)
                                    .withAcquireTime(ZonedDateTime.now())
                                    .withRenewTime(ZonedDateTime.now())
                                    .withLeaseTransitions(0)
                                    .endSpec()
                                    .build())
                    .create();
        }
    }

    @Inject KubernetesClient client;

    @Inject OperatorLifecycle lifecycle;

    private Lease lease() {
        return client.leases().withName("flotilla-operator").get();
    }

    @Test
    void aStandbyReconcilesNothingUntilTheLeaderIsGone() {
        assertEquals(OTHER, lease().getSpec().getHolderIdentity());
        WorkflowReconcilerTest.apply(
                client,
                "team-a",
                "standby",
                "defaults: {model: fast}\nsteps: [{id: a, agent: {prompt: hi}}]\n");
        // the standby's informers see the Workflow at once; its reconciler must not act on it, for
        // as long as we watch
        await().during(Duration.ofSeconds(3))
                .atMost(Duration.ofSeconds(10))
                .until(
                        () ->
                                client.resources(Workflow.class)
                                                .inNamespace("team-a")
                                                .withName("standby")
                                                .get()
                                                .getStatus()
                                        == null);
        assertEquals(OTHER, lease().getSpec().getHolderIdentity(), "nor does it take a held lease");
        assertFalse(lifecycle.leading(), "nor reap orphaned registrations");

        client.leases().withName("flotilla-operator").delete(); // the leader stepped down

        await().atMost(Duration.ofSeconds(30))
                .until(
                        () ->
                                lease() != null
                                        && !OTHER.equals(lease().getSpec().getHolderIdentity()));
        await().atMost(Duration.ofSeconds(30))
                .until(
                        () -> {
                            Workflow wf =
                                    client.resources(Workflow.class)
                                            .inNamespace("team-a")
                                            .withName("standby")
                                            .get();
                            return wf.getStatus() != null
                                    && wf.getStatus().getConditions().stream()
                                            .anyMatch(
                                                    c ->
                                                            c.getType().equals("Ready")
                                                                    && "ExecutorUnavailable"
                                                                            .equals(c.getReason()));
                        });
        assertNotEquals(
                OTHER,
                lease().getSpec().getHolderIdentity(),
                "this replica leads now and has reconciled the Workflow");
        assertTrue(lifecycle.leading(), "and reaps");
    }
}
