package io.flotilla.executor.engine;

import io.flotilla.common.problem.NulCheck;
import io.flotilla.common.registry.AgentRegistration;
import io.flotilla.common.registry.RegistryClient;
import io.flotilla.common.workflow.Expressions;
import io.flotilla.executor.ExecutorConfig;
import io.flotilla.executor.step.Claim;
import io.flotilla.executor.step.FailureKind;
import io.flotilla.executor.step.RunStatus;
import io.flotilla.executor.step.StepKind;
import io.flotilla.executor.step.StepKinds;
import io.flotilla.executor.step.StepStatus;
import io.flotilla.executor.store.StepStore;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Scope;
import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.net.URI;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.jboss.logging.Logger;

/**
 * The pod's share of the work: a dispatcher claims ready steps (as many as it has free workers),
 * workers run them and commit the results; it sleeps until a NOTIFY (or the safety poll) says there
 * may be more. Leases are renewed every third of their length, so only a dead pod's steps expire.
 */
@ApplicationScoped
public class Engine {

    private static final Logger LOG = Logger.getLogger(Engine.class);
    private static final int PURGE_BATCH = 500;

    private final ExecutorConfig config;
    private final Checkpoints checkpoints;
    private final Leases leases;
    private final Runs runs;
    private final StepKinds kinds;
    private final StepJournals journals;
    private final Wakeups wakeups;
    private final Tracer tracer;
    private final Map<String, Timer> stepTimers = new ConcurrentHashMap<>();
    private final MeterRegistry meters;
    private final Counter reclaims;
    private final Counter purged;
    private final Timer overhead;
    private final AtomicLong readyDepth = new AtomicLong();
    private final Semaphore wake = new Semaphore(0);
    private final Set<Claim> inFlight = ConcurrentHashMap.newKeySet();
    private volatile String owner = "local-" + UUID.randomUUID();
    private volatile boolean running;
    private Semaphore slots;
    private ExecutorService workers;
    private ScheduledExecutorService housekeeping;
    private ScheduledExecutorService renewal;
    private Thread dispatcher;
    private AgentRegistration registration;

    Engine(
            ExecutorConfig config,
            Checkpoints checkpoints,
            Leases leases,
            Runs runs,
            StepKinds kinds,
            StepJournals journals,
            Wakeups wakeups,
            Tracer tracer,
            MeterRegistry meters) {
        this.config = config;
        this.runs = runs;
        this.checkpoints = checkpoints;
        this.leases = leases;
        this.kinds = kinds;
        this.journals = journals;
        this.wakeups = wakeups;
        this.tracer = tracer;
        this.meters = meters;
        this.overhead =
                Timer.builder("flotilla.executor.step.overhead")
                        .description(
                                "Engine time of a step execution besides its LLM calls: reading its context and the checkpoint commit")
                        .publishPercentiles(0.5, 0.99)
                        .register(meters);
        this.reclaims =
                Counter.builder("flotilla.executor.lease.reclaims")
                        .description("Steps taken over after their lease expired")
                        .register(meters);
        this.purged =
                Counter.builder("flotilla.executor.runs.purged")
                        .description("Ended runs deleted after the retention")
                        .register(meters);
        meters.gauge("flotilla.executor.ready.depth", readyDepth);
    }

    /** The lease owner of this pod: its registration id in the registry. */
    public String owner() {
        return owner;
    }

    void start(@Observes StartupEvent ignored) {
        if (!config.engineEnabled()) {
            return;
        }
        config.registry().url().ifPresent(this::register);
        running = true;
        slots = new Semaphore(config.concurrency());
        workers = Executors.newFixedThreadPool(config.concurrency(), named("flotilla-step"));
        housekeeping = Executors.newSingleThreadScheduledExecutor(named("flotilla-housekeeping"));
        // renewal has a thread (and connections, see Leases) of its own: a slow reclaim or purge
        // cannot delay it
        renewal = Executors.newSingleThreadScheduledExecutor(named("flotilla-lease-renewal"));
        long renewEvery = Math.max(100, config.lease().toMillis() / 3);
        renewal.scheduleWithFixedDelay(this::renew, renewEvery, renewEvery, TimeUnit.MILLISECONDS);
        housekeeping.scheduleWithFixedDelay(
                this::reclaim,
                config.poll().toMillis(),
                config.poll().toMillis(),
                TimeUnit.MILLISECONDS);
        housekeeping.scheduleWithFixedDelay(this::purge, 10, 10, TimeUnit.SECONDS);
        wakeups.onReady(wake::release);
        dispatcher = new Thread(this::dispatch, "flotilla-dispatch");
        dispatcher.start();
        LOG.infof(
                "engine started: owner %s, %d workers, lease %s",
                owner, config.concurrency(), config.lease());
    }

    private void register(String url) {
        String pod =
                System.getenv()
                        .getOrDefault(
                                "POD_NAME", System.getenv().getOrDefault("HOSTNAME", "local"));
        String namespace = System.getenv().getOrDefault("POD_NAMESPACE", "default");
        RegistryClient client =
                new RegistryClient(
                        URI.create(url),
                        Duration.ofSeconds(5),
                        config.registry()
                                .token()
                                .<java.util.function.Supplier<String>>map(t -> () -> t)
                                .orElseGet(RegistryClient::serviceAccountToken));
        registration =
                AgentRegistration.start(
                        client,
                        new RegistryClient.Spec(
                                "executor-" + pod + "-" + ProcessHandle.current().pid(),
                                "executor",
                                namespace,
                                pod,
                                null,
                                config.registry().ttlSeconds(),
                                List.of("agent-steps"),
                                null));
        owner = registration.identity().id().toString();
        registration.onNewIdentity(id -> owner = id.id().toString());
    }

    void stop(@Observes ShutdownEvent ignored) {
        if (!running) {
            return;
        }
        running = false;
        wake.release();
        try {
            dispatcher.join(5_000); // no new claims from here on
            workers.shutdown();
            // steps in flight get a moment to finish and commit; the rest are handed back at once
            // rather than at lease expiry
            if (!workers.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.infof("handing back %d steps still in flight", leases.release(inFlight));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (SQLException | RuntimeException e) {
            LOG.warnf(
                    e,
                    "handing back steps failed (%s); they are reclaimed when their leases expire",
                    e.getMessage());
        }
        housekeeping.shutdownNow();
        renewal.shutdownNow();
        if (registration != null) {
            registration.close();
        }
    }

    private void dispatch() {
        while (running) {
            try {
                int free = slots.availablePermits();
                List<Claim> claims = free == 0 ? List.of() : leases.claim(owner, free);
                for (Claim claim : claims) {
                    slots.acquireUninterruptibly();
                    inFlight.add(claim);
                    workers.execute(
                            () -> {
                                try {
                                    execute(claim);
                                } finally {
                                    inFlight.remove(claim);
                                    slots.release();
                                    wake.release();
                                }
                            });
                }
                if (claims.isEmpty() || claims.size() < free) {
                    wake.tryAcquire(config.poll().toMillis(), TimeUnit.MILLISECONDS);
                    wake.drainPermits();
                }
            } catch (InterruptedException e) {
                return;
            } catch (SQLException | RuntimeException e) {
                LOG.warnf(e, "claiming steps failed (%s); trying again", e.getMessage());
                sleep(config.poll());
            }
        }
    }

    private void execute(Claim claim) {
        long started = System.nanoTime();
        String outcome = "failed";
        long[] callNanos = {0};
        Span span = null;
        Checkpoints.Context ctx = null;
        try {
            ctx = checkpoints.context(claim);
            span =
                    tracer.spanBuilder("step " + claim.stepId())
                            .setSpanKind(SpanKind.INTERNAL)
                            .setParent(RunTraces.parent(ctx.traceParent()))
                            .setAttribute("flotilla.run.id", claim.runId().toString())
                            .setAttribute("flotilla.step.id", claim.name())
                            .setAttribute("flotilla.step.attempt", claim.attempt())
                            .startSpan();
            try (Scope ignored = span.makeCurrent()) {
                outcome = run(claim, ctx, callNanos);
            }
        } catch (VirtualMachineError e) {
            throw e; // out of memory: the JVM exits (ExitOnOutOfMemoryError); another pod reclaims
        } catch (Throwable e) {
            if (span != null) {
                span.setStatus(StatusCode.ERROR, e.getClass().getSimpleName());
            }
            outcome = failed(claim, ctx, e);
        } finally {
            if (span != null) {
                span.setAttribute("flotilla.step.outcome", outcome);
                span.end();
            }
            long total = System.nanoTime() - started;
            stepTimers
                    .computeIfAbsent(
                            outcome,
                            o ->
                                    Timer.builder("flotilla.executor.step.duration")
                                            .description(
                                                    "Time from claim to commit of a step execution")
                                            .tag("outcome", o)
                                            .publishPercentileHistogram()
                                            .register(meters))
                    .record(total, TimeUnit.NANOSECONDS);
            overhead.record(total - callNanos[0], TimeUnit.NANOSECONDS);
        }
    }

    /**
     * An attempt that threw: it ends as a failed attempt, in its own transaction, and retries per
     * the step's policy. When even that cannot be stored (the database is away), the lease lapses
     * and the step is reclaimed, at most {@code max-reclaims} times.
     */
    private String failed(Claim claim, Checkpoints.Context ctx, Throwable e) {
        LOG.warnf(e, "step %s of run %s failed: %s", claim.name(), claim.runId(), e);
        if (ctx == null) {
            return "lost";
        }
        try {
            return checkpoints.failed(
                    claim,
                    ctx,
                    FailureKind.RETRYABLE,
                    "the attempt failed inside the executor: " + Failure.describe(e),
                    0,
                    0);
        } catch (Throwable again) {
            LOG.warnf(
                    again,
                    "recording the failure of step %s of run %s failed too; its lease lapses and it is reclaimed",
                    claim.name(),
                    claim.runId());
            return "lost";
        }
    }

    private String run(Claim claim, Checkpoints.Context ctx, long[] callNanos) throws SQLException {
        if (claim.reclaims() > config.maxReclaims()) {
            return checkpoints.failed(
                    claim,
                    ctx,
                    FailureKind.FATAL,
                    "step "
                            + claim.name()
                            + " lost its executor "
                            + claim.reclaims()
                            + " times (its lease expired before the attempt was stored; flotilla.executor.max-reclaims = "
                            + config.maxReclaims()
                            + ")",
                    0,
                    0);
        }
        if (ctx.status() != RunStatus.RUNNING) {
            return checkpoints.fail(claim, ctx, FailureKind.FATAL, "the run has ended", 0, 0)
                    ? "cancelled"
                    : "fenced";
        }
        String gated = checkpoints.gate(claim, ctx);
        if (gated != null) {
            return gated;
        }
        StepKind kind = kinds.of(ctx.step().kind());
        long callStart = System.nanoTime();
        StepKind.Outcome outcome;
        try {
            outcome =
                    kind.run(
                            new StepKind.Execution(
                                    claim,
                                    ctx.spec(),
                                    ctx.step(),
                                    new Expressions.Scope(
                                            ctx.input(), ctx.outputs(), claim.itemValue()),
                                    ctx.budgetScope(),
                                    journals.of(claim)));
        } finally {
            callNanos[0] = System.nanoTime() - callStart;
        }
        if (outcome instanceof StepKind.Outcome.Failed f) {
            Span.current().setStatus(StatusCode.ERROR, f.kind().name());
            return checkpoints.failed(claim, ctx, f.kind(), f.error(), f.tokens(), f.cost());
        }
        if (outcome instanceof StepKind.Outcome.Waiting w) {
            return Checkpoints.committed(
                    checkpoints.handBack(claim, StepStatus.SLEEPING, w.until()), "waiting");
        }
        if (outcome instanceof StepKind.Outcome.AwaitingDecision a) {
            return Checkpoints.committed(
                    checkpoints.handBack(claim, StepStatus.AWAITING_APPROVAL, a.timeout()),
                    "awaiting_approval");
        }
        return succeeded(claim, ctx, (StepKind.Outcome.Succeeded) outcome);
    }

    private String succeeded(
            Claim claim, Checkpoints.Context ctx, StepKind.Outcome.Succeeded result)
            throws SQLException {
        Span.current().setAttribute("gen_ai.usage.total_tokens", result.tokens());
        if (NulCheck.find("output", result.output()) != null) {
            // Postgres jsonb cannot hold U+0000: refuse the answer as this attempt's failure
            return checkpoints.failed(
                    claim,
                    ctx,
                    FailureKind.RETRYABLE,
                    "the step's output contains NUL characters (U+0000), which cannot be stored",
                    result.tokens(),
                    result.cost());
        }
        try {
            return Checkpoints.committed(
                    checkpoints.succeed(
                            claim, ctx, result.output(), result.tokens(), result.cost()),
                    "succeeded");
        } catch (Expressions.EvaluationException e) {
            return checkpoints.failed(
                    claim,
                    ctx,
                    FailureKind.FATAL,
                    "steps." + claim.stepId() + ".loop.until: " + e.getMessage(),
                    result.tokens(),
                    result.cost());
        } catch (SQLException | RuntimeException e) {
            // the output could not be stored: a failed attempt that keeps what the step spent
            LOG.warnf(e, "storing step %s of run %s failed: %s", claim.name(), claim.runId(), e);
            return checkpoints.failed(
                    claim,
                    ctx,
                    FailureKind.RETRYABLE,
                    "the step's output could not be stored: " + Failure.describe(e),
                    result.tokens(),
                    result.cost());
        }
    }

    private void renew() {
        try {
            leases.renew(inFlight);
        } catch (SQLException | RuntimeException e) {
            LOG.warnf(
                    e,
                    "renewing leases failed (%s); retrying in a third of the lease",
                    e.getMessage());
        }
    }

    /**
     * Wakes due sleepers and hands back the steps of dead executors; any pod may do it, the rows'
     * locks keep each row to one.
     */
    private void reclaim() {
        try {
            if (leases.wake() > 0) {
                wake.release();
            }
            readyDepth.set(leases.readyDepth());
            for (StepStore.Reclaimed r : leases.reclaim()) {
                reclaims.increment();
                LOG.infof(
                        "step %s%s of run %s taken back from %s, whose lease expired %d ms ago",
                        r.stepId(),
                        r.item() < 0 ? "" : "[" + r.item() + "]",
                        r.runId(),
                        r.deadOwner(),
                        r.expiredMillis());
                wake.release();
            }
        } catch (SQLException | RuntimeException e) {
            LOG.warnf(e, "reclaiming expired leases failed (%s); trying again", e.getMessage());
        }
    }

    /**
     * Deletes a batch of runs past the retention; any pod may do it, skipped rows keep it to one.
     */
    private void purge() {
        try {
            int n = runs.purgeEnded(config.retention(), PURGE_BATCH);
            if (n > 0) {
                purged.increment(n);
                LOG.infof("deleted %d runs that ended more than %s ago", n, config.retention());
            }
        } catch (SQLException | RuntimeException e) {
            LOG.warnf(
                    e,
                    "deleting runs past the retention failed (%s); trying again",
                    e.getMessage());
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static java.util.concurrent.ThreadFactory named(String name) {
        AtomicLong n = new AtomicLong();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
