package io.flotilla.operator;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import io.fabric8.kubernetes.client.extended.leaderelection.LeaderCallbacks;
import io.flotilla.operator.config.OperatorConfig;
import io.flotilla.operator.run.WorkflowRunReconciler;
import io.flotilla.operator.workflow.WorkflowReconciler;
import io.javaoperatorsdk.operator.Operator;
import io.javaoperatorsdk.operator.api.config.LeaderElectionConfigurationBuilder;
import io.quarkus.runtime.Quarkus;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import org.jboss.logging.Logger;

/**
 * Runs the Java Operator SDK inside Quarkus: started on startup with Quarkus' Kubernetes client,
 * stopped on shutdown; with leader election only the replica holding the lease reconciles.
 */
@ApplicationScoped
public class OperatorLifecycle {

    private static final Logger LOG = Logger.getLogger(OperatorLifecycle.class);
    static final List<String> CRDS =
            List.of("workflows.flotilla.io-v1.yml", "workflowruns.flotilla.io-v1.yml");

    private final KubernetesClient client;
    private final OperatorConfig config;
    private final WorkflowReconciler workflows;
    private final WorkflowRunReconciler runs;
    private Operator operator;
    private volatile boolean leading;
    private volatile boolean stopping;

    OperatorLifecycle(
            KubernetesClient client,
            OperatorConfig config,
            WorkflowReconciler workflows,
            WorkflowRunReconciler runs) {
        this.client = client;
        this.config = config;
        this.workflows = workflows;
        this.runs = runs;
    }

    void start(@Observes StartupEvent ignored) {
        if (config.installCrds()) {
            for (String crd : CRDS) {
                try (InputStream in = getClass().getResourceAsStream("/META-INF/fabric8/" + crd)) {
                    CustomResourceDefinition definition =
                            client.apiextensions().v1().customResourceDefinitions().load(in).item();
                    client.apiextensions()
                            .v1()
                            .customResourceDefinitions()
                            .resource(definition)
                            .createOr(NonDeletingOperation::update);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        operator =
                new Operator(
                        o -> {
                            o.withKubernetesClient(client)
                                    .withCloseClientOnStop(false)
                                    .withUseSSAToPatchPrimaryResource(config.serverSideApply());
                            if (config.leaderElection()) {
                                o.withLeaderElectionConfiguration(
                                        LeaderElectionConfigurationBuilder
                                                .aLeaderElectionConfiguration(config.leaseName())
                                                .withLeaderCallbacks(
                                                        new LeaderCallbacks(
                                                                () -> leading = true,
                                                                this::lostLease,
                                                                leader -> {}))
                                                .withExitOnStopLeading(
                                                        false) // we exit through Quarkus instead,
                                                // and not while shutting down anyway
                                                .build());
                            }
                        });
        operator.register(workflows);
        operator.register(runs);
        operator.start();
    }

    /** Whether this replica does the work: it holds the lease, or leader election is off. */
    public boolean leading() {
        return leading || !config.leaderElection();
    }

    /** A leader that lost its lease exits (gracefully), so that its pod comes back as a standby. */
    private void lostLease() {
        leading = false;
        if (!stopping) {
            LOG.warnf(
                    "lost the lease %s to another replica; exiting so this pod restarts as a standby",
                    config.leaseName());
            Quarkus.asyncExit(1);
        }
    }

    void stop(@Observes ShutdownEvent ignored) {
        stopping = true;
        if (operator != null) {
            operator.stop();
        }
    }
}
