package io.flotilla.executor.engine;

import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.common.workflow.WorkflowSpecs;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** Parsed workflow revisions; a revision never changes, so each pod parses it once. */
final class Specs {

    private static final int MAX = 1_000;
    private static final Map<String, WorkflowSpec> CACHE = new ConcurrentHashMap<>();

    private Specs() {
    }

    static WorkflowSpec of(Connection conn, String namespace, String workflow, String revision) throws SQLException {
        String key = namespace + "/" + workflow + "@" + revision;
        WorkflowSpec spec = CACHE.get(key);
        if (spec != null) {
            return spec;
        }
        try (PreparedStatement ps = conn.prepareStatement(
                "SELECT spec::text FROM executor.workflow_revisions WHERE namespace = ? AND name = ? AND revision = ?")) {
            ps.setString(1, namespace);
            ps.setString(2, workflow);
            ps.setString(3, revision);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new IllegalStateException("revision " + key + " is missing");
                }
                spec = WorkflowSpecs.parse(rs.getString(1));
            }
        }
        if (CACHE.size() >= MAX) {
            CACHE.clear();
        }
        CACHE.put(key, spec);
        return spec;
    }
}
