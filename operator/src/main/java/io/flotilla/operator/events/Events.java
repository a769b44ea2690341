package io.flotilla.operator.events;

import io.fabric8.kubernetes.api.model.EventBuilder;
import io.fabric8.kubernetes.api.model.ObjectReference;
import io.fabric8.kubernetes.client.KubernetesClient;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Instant;
import java.util.UUID;
import org.jboss.logging.Logger;

/** Kubernetes events the operator records about objects (what `kubectl describe` shows). */
@ApplicationScoped
public class Events {

    private static final Logger LOG = Logger.getLogger(Events.class);

    private final KubernetesClient kubernetes;

    public Events(KubernetesClient kubernetes) {
        this.kubernetes = kubernetes;
    }

    /** A {@code Normal} event. */
    public void normal(String namespace, ObjectReference about, String reason, String message) {
        record(namespace, about, "Normal", reason, message);
    }

    /** A {@code Warning} event. */
    public void warning(String namespace, ObjectReference about, String reason, String message) {
        record(namespace, about, "Warning", reason, message);
    }

    /**
     * Records the event in {@code namespace}; a failure to record is logged, never thrown: an event
     * is a report, not part of the work.
     */
    private void record(
            String namespace, ObjectReference about, String type, String reason, String message) {
        String now = Instant.now().toString();
        try {
            kubernetes
                    .v1()
                    .events()
                    .inNamespace(namespace)
                    .resource(
                            new EventBuilder()
                                    .withNewMetadata()
                                    .withName(
                                            about.getName()
                                                    + "."
                                                    + UUID.randomUUID().toString().substring(0, 8))
                                    .withNamespace(namespace)
                                    .endMetadata()
                                    .withInvolvedObject(about)
                                    .withReason(reason)
                                    .withMessage(message)
                                    .withType(type)
                                    .withNewSource()
                                    .withComponent("flotilla-operator")
                                    .endSource()
                                    .withFirstTimestamp(now)
                                    .withLastTimestamp(now)
                                    .withCount(1)
                                    .build())
                    .create();
        } catch (RuntimeException e) {
            LOG.warnf(e, "could not record event %s (%s) in %s", reason, message, namespace);
        }
    }
}
