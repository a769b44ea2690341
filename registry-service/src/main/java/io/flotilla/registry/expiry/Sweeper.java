package io.flotilla.registry.expiry;

import io.flotilla.registry.agent.AgentStore;
import io.flotilla.registry.config.RegistryConfig;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.core.Vertx;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * Marks lapsed registrations expired (for the metric) and purges them after the grace period.
 * Revocation does not wait for this: verification compares expiry with the database clock. Each
 * statement is idempotent and row-atomic, so sweeps of several replicas may overlap: a row is
 * counted and purged by exactly one of them.
 */
@ApplicationScoped
public class Sweeper {

    private static final Logger LOG = Logger.getLogger(Sweeper.class);

    private final AgentStore store;
    private final RegistryConfig config;
    private final Vertx vertx;
    private final Counter expirations;
    private final Counter purges;
    private final AtomicLong active = new AtomicLong();
    private final AtomicBoolean running = new AtomicBoolean();
    private long timer = -1;

    Sweeper(AgentStore store, RegistryConfig config, Vertx vertx, MeterRegistry meters) {
        this.store = store;
        this.config = config;
        this.vertx = vertx;
        this.expirations = meters.counter("flotilla.registry.expirations");
        this.purges = meters.counter("flotilla.registry.purges");
        meters.gauge("flotilla.registry.active", active);
    }

    void start(@Observes StartupEvent ev) {
        timer =
                vertx.setPeriodic(
                        config.sweep().interval().toMillis(),
                        id ->
                                sweep().subscribe()
                                        .with(
                                                ok -> {},
                                                failure ->
                                                        LOG.warnf(
                                                                failure,
                                                                "sweep failed, will retry in %s: %s",
                                                                config.sweep().interval(),
                                                                failure.getMessage())));
    }

    void stop(@Observes ShutdownEvent ev) {
        if (timer >= 0) {
            vertx.cancelTimer(timer);
        }
    }

    /** One sweep; skipped when the previous one of this replica has not finished. */
    public Uni<Void> sweep() {
        if (!running.compareAndSet(false, true)) {
            return Uni.createFrom().voidItem();
        }
        return store.markExpired()
                .invoke(n -> expirations.increment(n))
                .chain(() -> store.purge(config.sweep().purgeGrace().toSeconds()))
                .invoke(n -> purges.increment(n))
                .chain(store::countLive)
                .invoke(n -> active.set(n))
                .replaceWithVoid()
                .eventually(() -> running.set(false));
    }
}
