package io.flotilla.executor.run;

import io.flotilla.common.problem.ProblemException;
import io.flotilla.executor.ExecutorConfig;
import io.flotilla.executor.engine.Wakeups;
import io.flotilla.executor.store.EventStore;
import io.smallrye.mutiny.Multi;
import io.smallrye.mutiny.subscription.MultiEmitter;
import io.vertx.core.Vertx;
import io.vertx.mutiny.sqlclient.Row;
import jakarta.annotation.PostConstruct;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.ws.rs.sse.OutboundSseEvent;
import jakarta.ws.rs.sse.Sse;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A run's events as server-sent events: what is stored after {@code Last-Event-ID}, then each new
 * event as the run's NOTIFY arrives (a 5 s re-read covers a lost notification); the stream ends
 * with the run.
 */
@ApplicationScoped
public class RunEvents {

    private static final Set<String> FINAL = Set.of("run.succeeded", "run.failed", "run.cancelled");
    private static final int PAGE = 500;

    private final EventStore events;
    private final Vertx vertx;
    private final Wakeups wakeups;
    private final Map<UUID, List<Runnable>> watchers = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicInteger open =
            new java.util.concurrent.atomic.AtomicInteger();
    private final int limit;

    RunEvents(EventStore events, Vertx vertx, Wakeups wakeups, ExecutorConfig config) {
        this.events = events;
        this.vertx = vertx;
        this.wakeups = wakeups;
        this.limit = config.limits().eventStreams();
    }

    @PostConstruct
    void listen() {
        wakeups.onRunChanged(id -> watchers.getOrDefault(id, List.of()).forEach(Runnable::run));
    }

    /**
     * The run's events from {@code after} on; refused with 503 when this pod already serves {@code
     * limits.event-streams} streams.
     */
    Multi<OutboundSseEvent> stream(UUID run, long after, Sse sse) {
        if (open.incrementAndGet() > limit) {
            open.decrementAndGet();
            throw new ProblemException(
                    503,
                    "Too many event streams",
                    "this executor pod already serves "
                            + limit
                            + " event streams (flotilla.executor.limits.event-streams); retry later, or poll GET /api/v1/runs/"
                            + run);
        }
        return Multi.createFrom()
                .<OutboundSseEvent>emitter(
                        em -> {
                            Fetcher fetcher = new Fetcher(run, after, sse, em);
                            watchers.computeIfAbsent(run, k -> new CopyOnWriteArrayList<>())
                                    .add(fetcher);
                            long timer = vertx.setPeriodic(5000, t -> fetcher.run());
                            em.onTermination(
                                    () -> {
                                        vertx.cancelTimer(timer);
                                        open.decrementAndGet();
                                        watchers.computeIfPresent(
                                                run,
                                                (k, list) -> {
                                                    list.remove(fetcher);
                                                    return list.isEmpty() ? null : list;
                                                });
                                    });
                            fetcher.run();
                        });
    }

    private final class Fetcher implements Runnable {
        private final UUID run;
        private final Sse sse;
        private final MultiEmitter<? super OutboundSseEvent> em;
        private final AtomicLong last;
        private final AtomicBoolean busy = new AtomicBoolean();
        private final AtomicBoolean again = new AtomicBoolean();

        Fetcher(UUID run, long after, Sse sse, MultiEmitter<? super OutboundSseEvent> em) {
            this.run = run;
            this.sse = sse;
            this.em = em;
            this.last = new AtomicLong(after);
        }

        @Override
        public void run() {
            if (em.isCancelled() || !busy.compareAndSet(false, true)) {
                again.set(true);
                return;
            }
            events.page(run, last.get(), PAGE)
                    .subscribe()
                    .with(
                            rows -> {
                                boolean done = false;
                                for (Row r : rows) {
                                    var data =
                                            new io.vertx.core.json.JsonObject()
                                                    .put("type", r.getString("type"))
                                                    .put(
                                                            "at",
                                                            r.getOffsetDateTime("at").toString());
                                    if (r.getString("step_id") != null) {
                                        data.put("step", r.getString("step_id"));
                                    }
                                    if (r.getInteger("item") != null) {
                                        data.put("item", r.getInteger("item"));
                                    }
                                    if (r.getValue("data") != null) {
                                        data.put("data", r.getValue("data"));
                                    }
                                    last.set(r.getLong("id"));
                                    em.emit(
                                            sse.newEventBuilder()
                                                    .id(String.valueOf(r.getLong("id")))
                                                    .name(r.getString("type"))
                                                    .mediaType(
                                                            jakarta.ws.rs.core.MediaType
                                                                    .APPLICATION_JSON_TYPE)
                                                    .data(data.encode())
                                                    .build());
                                    done |= FINAL.contains(r.getString("type"));
                                }
                                busy.set(false);
                                if (done) {
                                    em.complete();
                                } else if (again.getAndSet(false) || rows.size() == PAGE) {
                                    run();
                                }
                            },
                            failure -> {
                                busy.set(false);
                                em.fail(failure);
                            });
        }
    }
}
