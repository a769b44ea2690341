package io.flotilla.executor.engine;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import javax.sql.DataSource;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * Wake-ups between pods, over Postgres LISTEN/NOTIFY: "steps are ready" wakes the engines, "run
 * changed" wakes the run's event streams. A commit announces its wake-ups after the fact: this pod
 * is woken at once, and the NOTIFYs for the other pods go out in one statement every few
 * milliseconds from a separate connection — a NOTIFY inside the checkpoint transaction would take
 * Postgres' global notification lock through the commit and serialise every checkpoint. Payloads
 * name the sending pod, which ignores its own. One dedicated connection LISTENs, and reconnects
 * when it drops (the engine's safety poll covers the gap).
 */
@ApplicationScoped
public class Wakeups {

    private static final Logger LOG = Logger.getLogger(Wakeups.class);

    static final String CHANNEL_READY = "flotilla_ready";
    static final String CHANNEL_RUN = "flotilla_run";
    private static final long SEND_EVERY_MILLIS = 10;

    /** Marks this pod's NOTIFYs, so it does not wake itself twice for its own commits. */
    private final String self = UUID.randomUUID().toString();

    private final List<Runnable> readyListeners = new CopyOnWriteArrayList<>();
    private final Set<UUID> changedRuns = ConcurrentHashMap.newKeySet();
    private final AtomicBoolean readyPending = new AtomicBoolean();
    private final DataSource ds;
    private ScheduledExecutorService sender;
    private final List<Consumer<UUID>> runListeners = new CopyOnWriteArrayList<>();
    private final String url;
    private final String user;
    private final String password;
    private volatile boolean running;
    private Thread thread;

    Wakeups(
            DataSource ds,
            @ConfigProperty(name = "quarkus.datasource.jdbc.url") String url,
            @ConfigProperty(name = "quarkus.datasource.username") Optional<String> user,
            @ConfigProperty(name = "quarkus.datasource.password") Optional<String> password) {
        this.ds = ds;
        this.url = url;
        this.user = user.orElse(null);
        this.password = password.orElse(null);
    }

    public void onReady(Runnable listener) {
        readyListeners.add(listener);
    }

    public void onRunChanged(Consumer<UUID> listener) {
        runListeners.add(listener);
    }

    private void readyNow() {
        readyListeners.forEach(Runnable::run);
    }

    /** After a commit: wakes this pod now, and the other pods with the next batch of NOTIFYs. */
    public void announce(UUID run, boolean ready) {
        if (ready) {
            readyNow();
            readyPending.set(true);
        }
        runListeners.forEach(l -> l.accept(run));
        changedRuns.add(run);
    }

    private void send() {
        boolean ready = readyPending.getAndSet(false);
        List<String> runs = new ArrayList<>();
        for (var it = changedRuns.iterator(); it.hasNext(); ) {
            runs.add(it.next().toString());
            it.remove();
        }
        if (!ready && runs.isEmpty()) {
            return;
        }
        try (Connection c = ds.getConnection();
                PreparedStatement ps =
                        c.prepareStatement(
                                "SELECT pg_notify('"
                                        + CHANNEL_RUN
                                        + "', ? || ' ' || r) FROM unnest(?::text[]) r"
                                        + (ready
                                                ? " UNION ALL SELECT pg_notify('"
                                                        + CHANNEL_READY
                                                        + "', ?)"
                                                : ""))) {
            ps.setString(1, self);
            ps.setArray(2, c.createArrayOf("text", runs.toArray()));
            if (ready) {
                ps.setString(3, self);
            }
            ps.execute();
        } catch (SQLException | RuntimeException e) {
            LOG.warnf(
                    e,
                    "sending wake-ups failed (%s); other pods find the work at their next poll",
                    e.getMessage());
        }
    }

    void start(@Observes StartupEvent ignored) {
        running = true;
        sender =
                Executors.newSingleThreadScheduledExecutor(
                        r -> {
                            Thread t = new Thread(r, "flotilla-notify");
                            t.setDaemon(true);
                            return t;
                        });
        sender.scheduleWithFixedDelay(
                this::send, SEND_EVERY_MILLIS, SEND_EVERY_MILLIS, TimeUnit.MILLISECONDS);
        thread = new Thread(this::listen, "flotilla-listen");
        thread.setDaemon(true);
        thread.start();
    }

    void stop(@Observes ShutdownEvent ignored) {
        running = false;
        if (sender != null) {
            sender.shutdown();
            send();
        }
        if (thread != null) {
            thread.interrupt();
        }
    }

    private void listen() {
        while (running) {
            try (Connection c = DriverManager.getConnection(url, user, password)) {
                try (Statement s = c.createStatement()) {
                    s.execute("LISTEN " + CHANNEL_READY + "; LISTEN " + CHANNEL_RUN);
                }
                PGConnection pg = c.unwrap(PGConnection.class);
                readyNow(); // anything that became ready while not listening
                while (running) {
                    PGNotification[] batch = pg.getNotifications(1000);
                    if (batch == null) {
                        continue;
                    }
                    boolean ready = false;
                    for (PGNotification n : batch) {
                        if (n.getParameter().startsWith(self)) {
                            continue; // announce() already woke this pod
                        }
                        if (n.getName().equals(CHANNEL_READY)) {
                            ready = true;
                        } else {
                            UUID run =
                                    UUID.fromString(
                                            n.getParameter()
                                                    .substring(n.getParameter().indexOf(' ') + 1));
                            runListeners.forEach(l -> l.accept(run));
                        }
                    }
                    if (ready) {
                        readyNow();
                    }
                }
            } catch (SQLException | RuntimeException e) {
                if (running) {
                    LOG.warnf(
                            e, "LISTEN connection lost (%s); reconnecting in 1 s", e.getMessage());
                    try {
                        Thread.sleep(1000);
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        }
    }
}
