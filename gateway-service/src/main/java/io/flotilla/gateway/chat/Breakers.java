package io.flotilla.gateway.chat;

import io.flotilla.gateway.config.GatewayConfig;
import io.flotilla.gateway.provider.UpstreamFailure;
import io.flotilla.gateway.route.Target;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.smallrye.faulttolerance.api.CircuitBreakerState;
import io.smallrye.faulttolerance.api.TypedGuard;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.util.TypeLiteral;
import jakarta.inject.Singleton;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One circuit breaker per target (SmallRye Fault Tolerance's programmatic guards, since the policy
 * comes from configuration). Server errors, timeouts and connection failures count as failures;
 * rate limits and rejected requests do not (they say nothing about the target's health).
 */
@Singleton
public class Breakers {

    private final GatewayConfig config;
    private final MeterRegistry meters;
    private final Map<String, TypedGuard<Uni<Object>>> guards = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> states = new ConcurrentHashMap<>();

    Breakers(GatewayConfig config, MeterRegistry meters) {
        this.config = config;
        this.meters = meters;
    }

    /**
     * Calls the target through its breaker; fails with CircuitBreakerOpenException while it is
     * open.
     */
    @SuppressWarnings("unchecked")
    public <T> Uni<T> call(Target target, java.util.function.Supplier<Uni<T>> call) {
        TypedGuard<Uni<Object>> guard = guards.computeIfAbsent(target.id(), id -> create(id));
        return (Uni<T>) guard.get(() -> (Uni<Object>) call.get());
    }

    /** Breaker state per target: closed, half-open or open. */
    public Map<String, String> states() {
        Map<String, String> out = new TreeMap<>();
        states.forEach(
                (id, s) ->
                        out.put(
                                id,
                                switch (s.get()) {
                                    case 1 -> "half-open";
                                    case 2 -> "open";
                                    default -> "closed";
                                }));
        return out;
    }

    private TypedGuard<Uni<Object>> create(String id) {
        AtomicInteger state = states.computeIfAbsent(id, k -> new AtomicInteger());
        meters.gauge("flotilla.gateway.breaker.state", Tags.of("target", id), state);
        GatewayConfig.Breaker b = config.breaker();
        return TypedGuard.create(new TypeLiteral<Uni<Object>>() {})
                .withCircuitBreaker()
                .requestVolumeThreshold(b.requestVolume())
                .failureRatio(b.failureRatio())
                .delay(b.delay().toMillis(), ChronoUnit.MILLIS)
                .successThreshold(b.successThreshold())
                .when(Breakers::countsAsFailure)
                .onStateChange(
                        s ->
                                state.set(
                                        s == CircuitBreakerState.HALF_OPEN
                                                ? 1
                                                : s == CircuitBreakerState.OPEN ? 2 : 0))
                .done()
                // the guarded call only assembles a non-blocking Uni: stay on the event loop
                // instead of hopping to a worker
                .withThreadOffload(false)
                .build();
    }

    static boolean countsAsFailure(Throwable t) {
        return t instanceof UpstreamFailure f
                && (f.kind() == UpstreamFailure.Kind.SERVER_ERROR
                        || f.kind() == UpstreamFailure.Kind.TIMEOUT
                        || f.kind() == UpstreamFailure.Kind.CONNECTION);
    }
}
