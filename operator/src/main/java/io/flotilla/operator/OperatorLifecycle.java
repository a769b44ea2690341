package io.flotilla.operator;

import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.dsl.NonDeletingOperation;
import io.flotilla.operator.run.WorkflowRunReconciler;
import io.flotilla.operator.workflow.WorkflowReconciler;
import io.javaoperatorsdk.operator.Operator;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;

/** Runs the Java Operator SDK inside Quarkus: started on startup with Quarkus' Kubernetes client, stopped on shutdown. */
@ApplicationScoped
public class OperatorLifecycle {

    static final List<String> CRDS = List.of("workflows.flotilla.io-v1.yml", "workflowruns.flotilla.io-v1.yml");

    private final KubernetesClient client;
    private final OperatorConfig config;
    private final WorkflowReconciler workflows;
    private final WorkflowRunReconciler runs;
    private Operator operator;

    OperatorLifecycle(KubernetesClient client, OperatorConfig config, WorkflowReconciler workflows, WorkflowRunReconciler runs) {
        this.client = client;
        this.config = config;
        this.workflows = workflows;
        this.runs = runs;
    }

    void start(@Observes StartupEvent ignored) {
        if (config.installCrds()) {
            for (String crd : CRDS) {
                try (InputStream in = getClass().getResourceAsStream("/META-INF/fabric8/" + crd)) {
                    CustomResourceDefinition definition = client.apiextensions().v1().customResourceDefinitions().load(in).item();
                    client.apiextensions().v1().customResourceDefinitions().resource(definition).createOr(NonDeletingOperation::update);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        operator = new Operator(o -> o.withKubernetesClient(client).withCloseClientOnStop(false)
                .withUseSSAToPatchPrimaryResource(config.serverSideApply()));
        operator.register(workflows);
        operator.register(runs);
        operator.start();
    }

    void stop(@Observes ShutdownEvent ignored) {
        if (operator != null) {
            operator.stop();
        }
    }
}
