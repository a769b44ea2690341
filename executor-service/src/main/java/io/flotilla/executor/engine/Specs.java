package io.flotilla.executor.engine;

import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.common.workflow.WorkflowSpecs;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/** Parsed workflow revisions; a revision never changes, so each pod parses it once. */
public final class Specs {

    private static final int MAX = 1_000;
    private static final Map<String, WorkflowSpec> CACHE = new ConcurrentHashMap<>();

    private Specs() {}

    /** The revision's spec, parsed from {@code json} the first time it is asked for. */
    public static WorkflowSpec of(
            String namespace, String workflow, String revision, Supplier<String> json) {
        String key = namespace + "/" + workflow + "@" + revision;
        WorkflowSpec spec = CACHE.get(key);
        if (spec == null) {
            spec = WorkflowSpecs.parse(json.get());
            if (CACHE.size() >= MAX) {
                CACHE.clear();
            }
            CACHE.put(key, spec);
        }
        return spec;
    }

    /** The revision's spec if this pod has parsed it, else null. */
    static WorkflowSpec cached(String namespace, String workflow, String revision) {
        return CACHE.get(namespace + "/" + workflow + "@" + revision);
    }

    static WorkflowSpec of(Connection conn, String namespace, String workflow, String revision)
            throws SQLException {
        WorkflowSpec cached = cached(namespace, workflow, revision);
        if (cached != null) {
            return cached;
        }
        try (PreparedStatement ps =
                conn.prepareStatement(
                        "SELECT spec::text FROM executor.workflow_revisions WHERE namespace = ? AND name = ? AND revision = ?")) {
            ps.setString(1, namespace);
            ps.setString(2, workflow);
            ps.setString(3, revision);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new IllegalStateException(
                            "revision "
                                    + namespace
                                    + "/"
                                    + workflow
                                    + "@"
                                    + revision
                                    + " is missing");
                }
                String json = rs.getString(1);
                return of(namespace, workflow, revision, () -> json);
            }
        }
    }
}
