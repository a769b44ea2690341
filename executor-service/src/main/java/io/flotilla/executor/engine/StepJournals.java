package io.flotilla.executor.engine;

import com.fasterxml.jackson.databind.JsonNode;
import io.flotilla.executor.step.Claim;
import io.flotilla.executor.step.Journal;
import io.flotilla.executor.store.JournalStore;
import jakarta.inject.Singleton;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;
import javax.sql.DataSource;

/** The {@link Journal} of a claimed step, on the executor's database, fenced by the claim. */
@Singleton
public class StepJournals {

    private final DataSource ds;
    private final JournalStore store;

    StepJournals(DataSource ds, JournalStore store) {
        this.ds = ds;
        this.store = store;
    }

    /** The journal of this claim's step, item and iteration; read once, on first use. */
    Journal of(Claim claim) {
        return new Journal() {
            private int next = -1;

            @Override
            public List<JsonNode> entries() {
                try (Connection c = ds.getConnection()) {
                    List<JsonNode> entries = store.read(c, claim);
                    next = entries.size();
                    return entries;
                } catch (SQLException e) {
                    throw new IllegalStateException(
                            "reading the step's journal failed: " + e.getMessage(), e);
                }
            }

            @Override
            public void append(JsonNode entry, long tokens, double cost) {
                if (next < 0) {
                    entries();
                }
                boolean held;
                try (Connection c = ds.getConnection()) {
                    held = store.append(c, claim, next, entry, tokens, cost);
                } catch (SQLException e) {
                    throw new IllegalStateException(
                            "checkpointing the step failed: " + e.getMessage(), e);
                }
                if (!held) {
                    throw new IllegalStateException(
                            "step " + claim.name() + " is no longer held by this executor");
                }
                next++;
            }
        };
    }
}
