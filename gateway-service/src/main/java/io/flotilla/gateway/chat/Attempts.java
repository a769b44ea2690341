package io.flotilla.gateway.chat;

import io.flotilla.gateway.config.GatewayConfig;
import io.flotilla.gateway.openai.OpenAiError;
import io.flotilla.gateway.provider.UpstreamFailure;
import io.flotilla.gateway.route.Target;
import io.micrometer.core.instrument.MeterRegistry;
import io.opentelemetry.api.trace.Span;
import io.smallrye.mutiny.Uni;
import jakarta.inject.Singleton;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Function;
import org.eclipse.microprofile.faulttolerance.exceptions.CircuitBreakerOpenException;

/**
 * Tries the targets of a request in order: each through its circuit breaker, retried with jittered
 * exponential backoff (or the upstream's Retry-After) on retryable failures, then the next target
 * on any failure that is not the caller's fault. Bounded by {@code max-attempts} calls in all.
 */
@Singleton
public class Attempts {

    private final GatewayConfig config;
    private final Breakers breakers;
    private final MeterRegistry meters;
    private final GenAiSpans spans;

    Attempts(GatewayConfig config, Breakers breakers, MeterRegistry meters, GenAiSpans spans) {
        this.config = config;
        this.breakers = breakers;
        this.meters = meters;
        this.spans = spans;
    }

    /** The answer and how it was obtained. */
    public record Result<T>(T value, Target target, int calls, List<String> fallbacks) {}

    private static final class State {
        final List<Target> order;
        final String alias;
        final List<String> trail = new ArrayList<>();
        int index;
        int calls;
        UpstreamFailure last;

        State(String alias, List<Target> order) {
            this.alias = alias;
            this.order = order;
        }
    }

    /** Tries the targets; each call is recorded on the request span {@code span} (GenAiSpans). */
    public <T> Uni<Result<T>> run(
            String alias,
            List<Target> order,
            Span span,
            String operation,
            Function<Target, Uni<T>> call) {
        State state = new State(alias, order);
        return next(
                state,
                target -> {
                    long start = System.nanoTime();
                    return call.apply(target)
                            .onItemOrFailure()
                            .invoke(
                                    (item, failure) -> {
                                        long elapsed = System.nanoTime() - start;
                                        spans.attempted(span, operation, target, elapsed, failure);
                                        meters.timer(
                                                        "flotilla.gateway.upstream",
                                                        "target",
                                                        target.id(),
                                                        "outcome",
                                                        failure == null
                                                                ? "ok"
                                                                : failure
                                                                                instanceof
                                                                                UpstreamFailure f
                                                                        ? f.kind()
                                                                                .name()
                                                                                .toLowerCase()
                                                                        : "error")
                                                .record(
                                                        elapsed,
                                                        java.util.concurrent.TimeUnit.NANOSECONDS);
                                    });
                });
    }

    private <T> Uni<Result<T>> next(State s, Function<Target, Uni<T>> call) {
        if (s.index >= s.order.size() || s.calls >= config.maxAttempts()) {
            return Uni.createFrom().failure(exhausted(s));
        }
        return attempt(s, s.order.get(s.index), 0, call);
    }

    private <T> Uni<Result<T>> attempt(
            State s, Target target, int retry, Function<Target, Uni<T>> call) {
        s.calls++;
        return breakers.call(target, () -> call.apply(target))
                .map(value -> new Result<>(value, target, s.calls, List.copyOf(s.trail)))
                .onFailure()
                .recoverWithUni(
                        error -> {
                            if (error instanceof CircuitBreakerOpenException) {
                                s.calls--; // refused without calling
                                return fallBack(s, target, "breaker-open", call);
                            }
                            UpstreamFailure f =
                                    error instanceof UpstreamFailure u
                                            ? u
                                            : new UpstreamFailure(
                                                    UpstreamFailure.Kind.CONNECTION,
                                                    error.getClass().getSimpleName());
                            s.last = f;
                            if (!f.fallsBack()) {
                                return Uni.createFrom().failure(f);
                            }
                            Duration wait =
                                    f.retryable()
                                                    && retry < config.retry().maxRetries()
                                                    && s.calls < config.maxAttempts()
                                            ? backoff(retry, f.retryAfter())
                                            : null;
                            if (wait != null) {
                                meters.counter("flotilla.gateway.retries", "target", target.id())
                                        .increment();
                                return Uni.createFrom()
                                        .voidItem()
                                        .onItem()
                                        .delayIt()
                                        .by(wait)
                                        .chain(() -> attempt(s, target, retry + 1, call));
                            }
                            return fallBack(s, target, f.label(), call);
                        });
    }

    private <T> Uni<Result<T>> fallBack(
            State s, Target target, String reason, Function<Target, Uni<T>> call) {
        s.trail.add(target.id() + "=" + reason);
        s.index++;
        if (s.index < s.order.size()) {
            meters.counter(
                            "flotilla.gateway.fallbacks",
                            "alias",
                            s.alias,
                            "reason",
                            reason.replaceAll("\\(.*", ""))
                    .increment();
        }
        return next(s, call);
    }

    /**
     * Full-jitter exponential backoff, or the upstream's Retry-After when it is not too long; null
     * = do not wait.
     */
    Duration backoff(int retry, Duration retryAfter) {
        if (retryAfter != null) {
            return retryAfter.compareTo(config.retry().maxRetryAfter()) <= 0 ? retryAfter : null;
        }
        long cap =
                Math.min(
                        config.retry().maxBackoff().toMillis(),
                        config.retry().initialBackoff().toMillis() << Math.min(retry, 20));
        return Duration.ofMillis(cap / 2 + ThreadLocalRandom.current().nextLong(cap / 2 + 1));
    }

    private static OpenAiError exhausted(State s) {
        String trail = String.join(", ", s.trail);
        if (s.last == null) {
            return new OpenAiError(
                    503,
                    "api_error",
                    "targets_unavailable",
                    null,
                    "every target of '"
                            + s.alias
                            + "' is unavailable (circuit open: "
                            + trail
                            + "); retry later",
                    Duration.ofSeconds(5));
        }
        if (s.last.kind() == UpstreamFailure.Kind.RATE_LIMITED) {
            return new OpenAiError(
                    429,
                    "rate_limit_error",
                    "rate_limit_exceeded",
                    null,
                    "every target of '"
                            + s.alias
                            + "' is rate limited ("
                            + trail
                            + "); retry later",
                    s.last.retryAfter() != null ? s.last.retryAfter() : Duration.ofSeconds(1));
        }
        if (s.last.kind() == UpstreamFailure.Kind.CONTEXT_LENGTH) {
            return new OpenAiError(
                    400,
                    "invalid_request_error",
                    "context_length_exceeded",
                    "messages",
                    "the prompt does not fit any target of '"
                            + s.alias
                            + "' ("
                            + trail
                            + "); shorten it or lower max_tokens",
                    null);
        }
        return new OpenAiError(
                502,
                "api_error",
                "upstream_error",
                null,
                "every target of '" + s.alias + "' failed (" + trail + "); retry later",
                null);
    }
}
