package io.flotilla.common.registry;

import io.flotilla.common.registry.RegistryClient.Identity;
import io.flotilla.common.registry.RegistryClient.Spec;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.jboss.logging.Logger;

/**
 * The registration an agent process holds for its lifetime: registers at start, heartbeats at a
 * fraction of the TTL, registers again when the registry says the registration is lost (410/404,
 * e.g. after a long pause), and deregisters on {@link #close()}. Listeners hear of each new
 * identity, since a re-registration brings a new id and token.
 */
public final class AgentRegistration implements AutoCloseable {

    private static final Logger LOG = Logger.getLogger(AgentRegistration.class);

    /**
     * Share of the TTL between heartbeats: three chances to get through before the lease lapses.
     */
    public static final double HEARTBEAT_FRACTION = 1.0 / 3;

    private final RegistryClient client;
    private final Spec spec;
    private final ScheduledExecutorService scheduler;
    private final List<Consumer<Identity>> listeners = new CopyOnWriteArrayList<>();
    private volatile Identity identity;
    private volatile boolean closed;

    private AgentRegistration(RegistryClient client, Spec spec, Identity identity) {
        this.client = client;
        this.spec = spec;
        this.identity = identity;
        this.scheduler =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "flotilla-registry-heartbeat");
                            t.setDaemon(true);
                            return t;
                        });
    }

    /**
     * Registers now (failing fast when the registry refuses or cannot be reached) and starts
     * heartbeating in the background.
     */
    public static AgentRegistration start(RegistryClient client, Spec spec) {
        AgentRegistration registration = new AgentRegistration(client, spec, client.register(spec));
        registration.schedule();
        return registration;
    }

    /** The identity held now; it changes after a re-registration. */
    public Identity identity() {
        return identity;
    }

    /** Called with each new identity after a re-registration. */
    public void onNewIdentity(Consumer<Identity> listener) {
        listeners.add(listener);
    }

    private void schedule() {
        long periodMillis =
                Math.max(100, (long) (identity.ttlSeconds() * 1000 * HEARTBEAT_FRACTION));
        scheduler.scheduleWithFixedDelay(
                this::beat, periodMillis, periodMillis, TimeUnit.MILLISECONDS);
    }

    private void beat() {
        if (closed) {
            return;
        }
        Identity current = identity;
        try {
            client.heartbeat(current);
        } catch (RegistrationLostException lost) {
            LOG.warnf(
                    lost,
                    "registration %s lost (%s); registering again",
                    current.id(),
                    lost.getMessage());
            reregister();
        } catch (RuntimeException e) {
            // transient: the next beat (a third of the TTL later) tries again before the lease
            // lapses
            LOG.warnf(e, "heartbeat of %s failed: %s", current.id(), e.getMessage());
        }
    }

    private void reregister() {
        try {
            Identity fresh = client.register(spec);
            identity = fresh;
            LOG.infof("registered again as %s", fresh.id());
            listeners.forEach(l -> l.accept(fresh));
        } catch (RuntimeException e) {
            LOG.warnf(
                    e, "registering again failed, will retry at the next beat: %s", e.getMessage());
        }
    }

    /** Stops heartbeating and deregisters, so the identity dies now rather than at TTL. */
    @Override
    public void close() {
        closed = true;
        scheduler.shutdownNow();
        try {
            scheduler.awaitTermination(2, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Identity current = identity;
        try {
            client.deregister(current.id(), current.token());
        } catch (RuntimeException e) {
            LOG.warnf(
                    e,
                    "deregistering %s failed; it will expire after its TTL: %s",
                    current.id(),
                    e.getMessage());
        }
    }
}
