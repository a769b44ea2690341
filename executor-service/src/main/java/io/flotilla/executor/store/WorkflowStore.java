package io.flotilla.executor.store;

import io.flotilla.common.secret.Secrets;
import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.common.workflow.WorkflowSpecs;
import io.smallrye.mutiny.Uni;
import io.vertx.core.json.JsonObject;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.enterprise.context.ApplicationScoped;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Every statement on {@code executor.workflow_revisions} (immutable, content-addressed specs) and
 * {@code executor.workflows} (the current revision of each workflow): the two tables are one
 * feature and always written together. The API uses the reactive pool; the engine reads a revision
 * on its own JDBC connection ({@link #revision}).
 */
@ApplicationScoped
public class WorkflowStore {

    private final Pool pool;

    WorkflowStore(Pool pool) {
        this.pool = pool;
    }

    /**
     * A published workflow: its current revision and spec; {@code created} when this call made a
     * new revision.
     */
    public record Published(
            String namespace,
            String name,
            String revision,
            boolean created,
            Instant updatedAt,
            JsonObject spec) {}

    public Uni<Published> publish(String namespace, String name, WorkflowSpec spec) {
        String json = WorkflowSpecs.toJson(spec);
        String revision = HexFormat.of().formatHex(Secrets.sha256(json)).substring(0, 16);
        JsonObject specJson = new JsonObject(json);
        return pool.withTransaction(
                conn ->
                        conn.preparedQuery(
                                        """
                INSERT INTO executor.workflow_revisions (namespace, name, revision, spec) VALUES ($1, $2, $3, $4)
                ON CONFLICT DO NOTHING""")
                                .execute(Tuple.of(namespace, name, revision, specJson))
                                .chain(
                                        inserted ->
                                                conn.preparedQuery(
                                                                """
                        INSERT INTO executor.workflows (namespace, name, revision) VALUES ($1, $2, $3)
                        ON CONFLICT (namespace, name) DO UPDATE SET revision = EXCLUDED.revision,
                            updated_at = CASE WHEN workflows.revision = EXCLUDED.revision THEN workflows.updated_at ELSE now() END
                        RETURNING updated_at""")
                                                        .execute(
                                                                Tuple.of(namespace, name, revision))
                                                        .map(
                                                                rows ->
                                                                        new Published(
                                                                                namespace,
                                                                                name,
                                                                                revision,
                                                                                inserted.rowCount()
                                                                                        > 0,
                                                                                rows.iterator()
                                                                                        .next()
                                                                                        .getOffsetDateTime(
                                                                                                "updated_at")
                                                                                        .toInstant(),
                                                                                specJson))));
    }

    public Uni<Published> current(String namespace, String name) {
        return pool.preparedQuery(
                        """
                SELECT w.revision, w.updated_at, r.spec FROM executor.workflows w
                  JOIN executor.workflow_revisions r USING (namespace, name, revision)
                 WHERE w.namespace = $1 AND w.name = $2""")
                .execute(Tuple.of(namespace, name))
                .map(
                        rows -> {
                            if (rows.rowCount() == 0) {
                                return null;
                            }
                            Row r = rows.iterator().next();
                            return new Published(
                                    namespace,
                                    name,
                                    r.getString("revision"),
                                    false,
                                    r.getOffsetDateTime("updated_at").toInstant(),
                                    (JsonObject) r.getValue("spec"));
                        });
    }

    /** The spec (JSON) of a revision, read on the engine's connection. */
    public String revision(Connection c, String namespace, String name, String revision)
            throws SQLException {
        try (PreparedStatement ps =
                c.prepareStatement(
                        "SELECT spec::text FROM executor.workflow_revisions"
                                + " WHERE namespace = ? AND name = ? AND revision = ?")) {
            ps.setString(1, namespace);
            ps.setString(2, name);
            ps.setString(3, revision);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new IllegalStateException(
                            "revision " + namespace + "/" + name + "@" + revision + " is missing");
                }
                return rs.getString(1);
            }
        }
    }

    /** A published workflow in a list: its current revision and how many it has had. */
    public record Listed(
            String namespace, String name, String revision, Instant updatedAt, int revisions) {}

    /** Published workflows, of one namespace or (null) all, by namespace and name. */
    public Uni<List<Listed>> list(String namespace) {
        return pool.preparedQuery(
                        """
                SELECT w.namespace, w.name, w.revision, w.updated_at,
                       (SELECT count(*) FROM executor.workflow_revisions r
                         WHERE r.namespace = w.namespace AND r.name = w.name) AS revisions
                  FROM executor.workflows w WHERE $1::text IS NULL OR w.namespace = $1
                 ORDER BY w.namespace, w.name LIMIT 1000""")
                .execute(Tuple.of(namespace))
                .map(
                        rows -> {
                            List<Listed> out = new ArrayList<>();
                            rows.forEach(
                                    r ->
                                            out.add(
                                                    new Listed(
                                                            r.getString("namespace"),
                                                            r.getString("name"),
                                                            r.getString("revision"),
                                                            r.getOffsetDateTime("updated_at")
                                                                    .toInstant(),
                                                            r.getInteger("revisions"))));
                            return out;
                        });
    }

    /** A revision of a workflow: when it was first published, and how many runs it has. */
    public record Revision(String revision, Instant createdAt, long runs) {}

    /** Every revision of a workflow, newest first. */
    public Uni<List<Revision>> revisions(String namespace, String name) {
        return pool.preparedQuery(
                        """
                SELECT r.revision, r.created_at,
                       (SELECT count(*) FROM executor.runs u
                         WHERE u.namespace = r.namespace AND u.workflow = r.name AND u.revision = r.revision) AS runs
                  FROM executor.workflow_revisions r WHERE r.namespace = $1 AND r.name = $2
                 ORDER BY r.created_at DESC LIMIT 100""")
                .execute(Tuple.of(namespace, name))
                .map(
                        rows -> {
                            List<Revision> out = new ArrayList<>();
                            rows.forEach(
                                    r ->
                                            out.add(
                                                    new Revision(
                                                            r.getString("revision"),
                                                            r.getOffsetDateTime("created_at")
                                                                    .toInstant(),
                                                            r.getLong("runs"))));
                            return out;
                        });
    }

    /** Removes the workflow; its revisions stay for the runs pinned to them. */
    public Uni<Boolean> delete(String namespace, String name) {
        return pool.preparedQuery(
                        "DELETE FROM executor.workflows WHERE namespace = $1 AND name = $2")
                .execute(Tuple.of(namespace, name))
                .map(rows -> rows.rowCount() > 0);
    }
}
