package io.flotilla.executor.engine;

import io.quarkus.runtime.ShutdownEvent;
import io.quarkus.runtime.StartupEvent;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.enterprise.event.Observes;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.eclipse.microprofile.config.inject.ConfigProperty;
import org.jboss.logging.Logger;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

/**
 * One dedicated Postgres connection that LISTENs: "steps are ready" wakes the engine, "run changed"
 * wakes the run's event streams. Reconnects when the connection drops (the safety poll covers the gap).
 */
@ApplicationScoped
public class Wakeups {

    private static final Logger LOG = Logger.getLogger(Wakeups.class);

    private final List<Runnable> readyListeners = new CopyOnWriteArrayList<>();
    private final List<Consumer<UUID>> runListeners = new CopyOnWriteArrayList<>();
    private final String url;
    private final String user;
    private final String password;
    private volatile boolean running;
    private Thread thread;

    Wakeups(@ConfigProperty(name = "quarkus.datasource.jdbc.url") String url,
            @ConfigProperty(name = "quarkus.datasource.username") Optional<String> user,
            @ConfigProperty(name = "quarkus.datasource.password") Optional<String> password) {
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

    /** Wakes this pod's engine without a round trip (its own commits made steps ready). */
    public void readyNow() {
        readyListeners.forEach(Runnable::run);
    }

    void start(@Observes StartupEvent ignored) {
        running = true;
        thread = new Thread(this::listen, "flotilla-listen");
        thread.setDaemon(true);
        thread.start();
    }

    void stop(@Observes ShutdownEvent ignored) {
        running = false;
        if (thread != null) {
            thread.interrupt();
        }
    }

    private void listen() {
        while (running) {
            try (Connection c = DriverManager.getConnection(url, user, password)) {
                try (Statement s = c.createStatement()) {
                    s.execute("LISTEN " + RunTx.CHANNEL_READY + "; LISTEN " + RunTx.CHANNEL_RUN);
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
                        if (n.getName().equals(RunTx.CHANNEL_READY)) {
                            ready = true;
                        } else {
                            UUID run = UUID.fromString(n.getParameter());
                            runListeners.forEach(l -> l.accept(run));
                        }
                    }
                    if (ready) {
                        readyNow();
                    }
                }
            } catch (SQLException | RuntimeException e) {
                if (running) {
                    LOG.warnf("LISTEN connection lost (%s); reconnecting in 1 s", e.getMessage());
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
