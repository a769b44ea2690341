package io.flotilla.operator.executor;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.ObjectReferenceBuilder;
import io.flotilla.operator.config.OperatorConfig;
import io.flotilla.operator.events.Events;
import io.javaoperatorsdk.operator.api.reconciler.DeleteControl;
import jakarta.enterprise.context.ApplicationScoped;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import org.jboss.logging.Logger;

/**
 * The executor-side cleanup of a deleted resource, bounded so that a finalizer can never wedge a
 * deletion or a namespace: done when the cleanup worked; given up with a Warning event when the
 * executor answers a client error (trying again cannot help) or stays unreachable past {@code
 * cleanup-timeout}; skipped at once when the resource carries {@value #SKIP}{@code : "true"}. While
 * the executor is unreachable and time remains, the cleanup is tried again every few seconds.
 */
@ApplicationScoped
public class Cleanup {

    /** The annotation that skips the executor-side cleanup of a deleted resource. */
    public static final String SKIP = "flotilla.io/skip-cleanup";

    private static final Logger LOG = Logger.getLogger(Cleanup.class);
    private static final Duration RETRY = Duration.ofSeconds(5);

    private final OperatorConfig config;
    private final Events events;

    public Cleanup(OperatorConfig config, Events events) {
        this.config = config;
        this.events = events;
    }

    /** Runs {@code action}, the cleanup of {@code resource} ({@code what} names it in events). */
    public <R extends HasMetadata> DeleteControl run(R resource, String what, Runnable action) {
        if ("true"
                .equals(
                        resource.getMetadata().getAnnotations() == null
                                ? null
                                : resource.getMetadata().getAnnotations().get(SKIP))) {
            warn(resource, "CleanupSkipped", what + " was not cleaned up: annotation " + SKIP);
            return DeleteControl.defaultDelete();
        }
        try {
            action.run();
            return DeleteControl.defaultDelete();
        } catch (ExecutorClient.Rejected e) {
            warn(
                    resource,
                    "CleanupFailed",
                    what + " could not be cleaned up, the executor refused: " + e.getMessage());
            return DeleteControl.defaultDelete();
        } catch (ExecutorClient.Unavailable e) {
            Duration pending = pending(resource);
            if (pending.compareTo(config.cleanupTimeout()) >= 0) {
                warn(
                        resource,
                        "CleanupAbandoned",
                        what
                                + " was not cleaned up: the executor stayed unreachable for "
                                + config.cleanupTimeout()
                                + " ("
                                + e.getMessage()
                                + ")");
                return DeleteControl.defaultDelete();
            }
            Duration left = config.cleanupTimeout().minus(pending);
            LOG.infof(
                    "cleanup of %s waits for the executor (%s); giving up in %s",
                    what, e.getMessage(), left);
            return DeleteControl.noFinalizerRemoval()
                    .rescheduleAfter(left.compareTo(RETRY) < 0 ? left : RETRY);
        }
    }

    /** How long the resource has been waiting for deletion. */
    private static Duration pending(HasMetadata resource) {
        String since = resource.getMetadata().getDeletionTimestamp();
        return since == null
                ? Duration.ZERO
                : Duration.between(OffsetDateTime.parse(since).toInstant(), Instant.now());
    }

    private void warn(HasMetadata resource, String reason, String message) {
        LOG.warn(message);
        events.warning(
                resource.getMetadata().getNamespace(),
                new ObjectReferenceBuilder()
                        .withApiVersion(resource.getApiVersion())
                        .withKind(resource.getKind())
                        .withNamespace(resource.getMetadata().getNamespace())
                        .withName(resource.getMetadata().getName())
                        .withUid(resource.getMetadata().getUid())
                        .build(),
                reason,
                message);
    }
}
