package io.flotilla.executor.engine;

import io.flotilla.executor.ExecutorConfig;
import io.flotilla.executor.step.Claim;
import io.flotilla.executor.store.StepStore;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Collection;
import java.util.List;
import javax.sql.DataSource;

/**
 * Who runs which step: claiming ready steps ({@code FOR UPDATE SKIP LOCKED}, oldest first, fencing
 * epoch bumped), renewing the leases a pod holds, and handing back steps whose holder died. Each is
 * one short transaction of its own.
 */
@ApplicationScoped
public class Leases {

    private final DataSource ds;
    private final DataSource renewals;
    private final ExecutorConfig config;
    private final StepStore steps;

    /**
     * @param renewals the {@code leases} datasource: lease renewal has connections of its own, so
     *     API load on the default pool cannot make a live pod lose its steps
     */
    Leases(
            DataSource ds,
            @io.quarkus.agroal.DataSource("leases") DataSource renewals,
            ExecutorConfig config,
            StepStore steps) {
        this.ds = ds;
        this.renewals = renewals;
        this.config = config;
        this.steps = steps;
    }

    /** Claims up to {@code limit} ready steps for {@code owner}. */
    public List<Claim> claim(String owner, int limit) throws SQLException {
        try (Connection c = ds.getConnection()) {
            return steps.claim(c, owner, config.lease(), limit);
        }
    }

    /**
     * Extends the leases of the steps this pod is running right now (a step whose commit failed is
     * no longer among them, so its lease lapses and another pod takes it).
     */
    public int renew(Collection<Claim> inFlight) throws SQLException {
        if (inFlight.isEmpty()) {
            return 0;
        }
        try (Connection c = renewals.getConnection()) {
            return steps.renew(c, config.lease(), inFlight);
        }
    }

    /**
     * Makes steps whose lease expired ready again, keeping their place at the head of the queue
     * (their next claim bumps the epoch, fencing the presumed-dead holder off), and ends in-flight
     * steps of ended runs whose holder died.
     */
    public List<StepStore.Reclaimed> reclaim() throws SQLException {
        try (Connection c = ds.getConnection()) {
            return steps.reclaim(c);
        }
    }

    /** Makes due sleepers ready; how many. */
    public int wake() throws SQLException {
        try (Connection c = ds.getConnection()) {
            return steps.wake(c);
        }
    }

    /**
     * Hands steps this pod still runs back to the queue (on shutdown). A worker that finishes one
     * later is fenced off: its row is no longer {@code running}.
     */
    public int release(Collection<Claim> inFlight) throws SQLException {
        if (inFlight.isEmpty()) {
            return 0;
        }
        try (Connection c = ds.getConnection()) {
            return steps.release(c, inFlight);
        }
    }

    /** Ready steps not yet claimed (a gauge). */
    public long readyDepth() throws SQLException {
        try (Connection c = ds.getConnection()) {
            return steps.readyDepth(c);
        }
    }
}
