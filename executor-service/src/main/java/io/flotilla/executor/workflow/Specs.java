package io.flotilla.executor.workflow;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.common.workflow.WorkflowSpecs;
import io.flotilla.executor.store.WorkflowStore;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.Connection;
import java.sql.SQLException;
import java.util.function.Supplier;

/**
 * Parsed workflow revisions. A revision never changes, so each pod parses it once; the cache keeps
 * the 1,000 used most (a revision evicted is parsed again when a run needs it).
 */
@ApplicationScoped
public class Specs {

    private static final int MAX = 1_000;

    private final WorkflowStore store;
    private final Cache<String, WorkflowSpec> cache =
            Caffeine.newBuilder().maximumSize(MAX).build();

    Specs(WorkflowStore store) {
        this.store = store;
    }

    /** The revision's spec, parsed from {@code json} the first time it is asked for. */
    public WorkflowSpec of(
            String namespace, String workflow, String revision, Supplier<String> json) {
        return cache.get(key(namespace, workflow, revision), k -> WorkflowSpecs.parse(json.get()));
    }

    /** The revision's spec if this pod has parsed it, else null. */
    public WorkflowSpec cached(String namespace, String workflow, String revision) {
        return cache.getIfPresent(key(namespace, workflow, revision));
    }

    /** The revision's spec, read on {@code c} when this pod has not parsed it yet. */
    public WorkflowSpec of(Connection c, String namespace, String workflow, String revision)
            throws SQLException {
        WorkflowSpec spec = cached(namespace, workflow, revision);
        if (spec != null) {
            return spec;
        }
        String json = store.revision(c, namespace, workflow, revision);
        return of(namespace, workflow, revision, () -> json);
    }

    private static String key(String namespace, String workflow, String revision) {
        return namespace + "/" + workflow + "@" + revision;
    }
}
