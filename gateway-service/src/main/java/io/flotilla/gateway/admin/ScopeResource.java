package io.flotilla.gateway.admin;

import io.flotilla.common.problem.Problem.FieldError;
import io.flotilla.common.problem.ProblemException;
import io.flotilla.gateway.governance.Governor;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.SecurityContext;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import org.jboss.resteasy.reactive.RestResponse;

/**
 * Budget and rate-limit scopes: set limits (keeping what was used), read the account, and pause or
 * resume a scope — the kill switch, effective on the next request of every replica.
 */
@Path("/admin/v1/scopes")
@Produces(MediaType.APPLICATION_JSON)
public class ScopeResource {

    private static final Pattern NAME =
            Pattern.compile("[a-z][a-z0-9-]{0,30}:[A-Za-z0-9._/:@-]{1,200}");
    private static final Set<String> PERIODS = Set.of("none", "daily", "monthly");

    private final Pool pool;
    private final Governor governor;

    ScopeResource(Pool pool, Governor governor) {
        this.pool = pool;
        this.governor = governor;
    }

    /** Limits of a scope; every field but tenant is optional (absent = no such limit). */
    public record ScopeRequest(
            String tenant,
            String parent,
            Long maxTokens,
            Double maxCostUsd,
            String reset,
            Integer rpm,
            Integer tpm) {}

    public record ScopeView(
            String scope,
            String tenant,
            String parent,
            Long maxTokens,
            Double maxCostUsd,
            String reset,
            Instant periodStart,
            long usedTokens,
            double usedCostUsd,
            long reservedTokens,
            double reservedCostUsd,
            Integer rpm,
            Integer tpm,
            boolean paused) {}

    @PUT
    @Path("/{scope: .+}")
    @Consumes(MediaType.APPLICATION_JSON)
    @KeysAllowed(runScopes = true)
    public Uni<ScopeView> put(
            @PathParam("scope") String scope, ScopeRequest r, @Context SecurityContext security) {
        Credential credential = Credential.of(security);
        runScopeOfItsTenant(credential, scope, r == null ? null : r.tenant());
        List<FieldError> errors = new ArrayList<>();
        if (!NAME.matcher(scope).matches()) {
            errors.add(
                    new FieldError(
                            "scope",
                            "name it kind:id, e.g. tenant:acme, key:<uuid>, model:acme/fast, run:42, workflow:ns/name"));
        }
        if (r == null || r.tenant() == null || r.tenant().isBlank()) {
            errors.add(new FieldError("tenant", "is required: the tenant that owns the scope"));
        }
        if (r != null) {
            positive(errors, "maxTokens", r.maxTokens());
            positive(errors, "rpm", r.rpm() == null ? null : r.rpm().longValue());
            positive(errors, "tpm", r.tpm() == null ? null : r.tpm().longValue());
            if (r.maxCostUsd() != null && r.maxCostUsd() < 0) {
                errors.add(new FieldError("maxCostUsd", "must be 0 or more"));
            }
            if (r.reset() != null && !PERIODS.contains(r.reset())) {
                errors.add(new FieldError("reset", "use none, daily or monthly"));
            }
            if (scope.equals(r.parent())) {
                errors.add(new FieldError("parent", "a scope cannot be its own parent"));
            }
        }
        if (!errors.isEmpty()) {
            throw ProblemException.invalid(errors);
        }
        Tuple args =
                Tuple.tuple(List.of(scope, r.tenant()))
                        .addString(r.parent())
                        .addLong(r.maxTokens())
                        .addLong(
                                r.maxCostUsd() == null
                                        ? null
                                        : Math.round(r.maxCostUsd() * 1_000_000))
                        .addString(r.reset() == null ? "none" : r.reset())
                        .addInteger(r.rpm())
                        .addInteger(r.tpm());
        return parentOfItsTenant(credential, r)
                .chain(() -> acyclic(scope, r.parent()))
                .chain(() -> store(scope, r, args));
    }

    /** Fails when making {@code parent} the parent of {@code scope} would close a cycle. */
    private Uni<Void> acyclic(String scope, String parent) {
        if (parent == null) {
            return Uni.createFrom().voidItem();
        }
        return pool.preparedQuery(
                        """
                WITH RECURSIVE up(s, depth) AS (
                    SELECT $1::text, 0
                    UNION ALL
                    SELECT p.parent, up.depth + 1 FROM gateway.scopes p JOIN up ON p.scope = up.s
                     WHERE p.parent IS NOT NULL AND up.depth < 64)
                SELECT 1 FROM up WHERE s = $2 LIMIT 1""")
                .execute(Tuple.of(parent, scope))
                .invoke(
                        rows -> {
                            if (rows.rowCount() > 0) {
                                throw ProblemException.invalid(
                                        List.of(
                                                new FieldError(
                                                        "parent",
                                                        "'"
                                                                + parent
                                                                + "' is '"
                                                                + scope
                                                                + "' or below it: the parent chain would be a cycle")));
                            }
                        })
                .replaceWithVoid();
    }

    private Uni<ScopeView> store(String scope, ScopeRequest r, Tuple args) {
        return pool.preparedQuery(
                        """
                INSERT INTO gateway.scopes (scope, tenant_id, parent, max_tokens, max_cost_micros, reset_period, rpm, tpm)
                SELECT $1, $2, $3, $4, $5, $6, $7, $8
                 WHERE EXISTS (SELECT 1 FROM gateway.tenants WHERE id = $2)
                   AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM gateway.scopes WHERE scope = $3 AND tenant_id = $2))
                ON CONFLICT (scope) DO UPDATE SET parent = EXCLUDED.parent, max_tokens = EXCLUDED.max_tokens,
                    max_cost_micros = EXCLUDED.max_cost_micros, reset_period = EXCLUDED.reset_period, rpm = EXCLUDED.rpm,
                    tpm = EXCLUDED.tpm
                 WHERE gateway.scopes.tenant_id = EXCLUDED.tenant_id""")
                .execute(args)
                .chain(
                        rows -> {
                            if (rows.rowCount() == 0) {
                                throw new ProblemException(
                                        409,
                                        "Scope not stored",
                                        "check that tenant '"
                                                + r.tenant()
                                                + "' exists, that the parent scope exists and belongs to it, and that scope '"
                                                + scope
                                                + "' is not another tenant's");
                            }
                            governor.changed(scope);
                            return read(scope);
                        });
    }

    /**
     * Every scope, or a tenant's (except its run scopes unless {@code runs}), by name: the
     * console's budgets page. The admin credential only.
     */
    @GET
    public Uni<List<ScopeView>> list(
            @QueryParam("tenant") String tenant, @QueryParam("runs") boolean runs) {
        return pool.preparedQuery(
                        "SELECT * FROM gateway.scopes WHERE ($1::text IS NULL OR tenant_id = $1)"
                                + " AND ($2 OR scope NOT LIKE 'run:%') ORDER BY scope LIMIT 1000")
                .execute(Tuple.of(tenant, runs))
                .map(
                        rows -> {
                            List<ScopeView> out = new ArrayList<>();
                            rows.forEach(r -> out.add(view(r)));
                            return out;
                        });
    }

    @GET
    @Path("/{scope: .+}")
    @KeysAllowed(runScopes = true)
    public Uni<ScopeView> get(@PathParam("scope") String scope, @Context SecurityContext security) {
        Credential credential = Credential.of(security);
        runScopeOfItsTenant(credential, scope, null);
        return read(scope)
                .invoke(
                        view -> {
                            if (!credential.admin()
                                    && !view.tenant().equals(credential.key().tenant())) {
                                throw unknown(scope); // another tenant's: as if it did not exist
                            }
                        });
    }

    /**
     * A key (not the admin) may touch only {@code run:*} scopes of its own tenant: the executor's
     * run budgets, which nest under the tenant's own limits and so can only lower them.
     */
    private static void runScopeOfItsTenant(Credential credential, String scope, String tenant) {
        if (credential.admin()) {
            return;
        }
        if (!scope.startsWith("run:")) {
            throw new ProblemException(
                    403,
                    "Forbidden",
                    "a key may open and read run:* scopes only, not '" + scope + "'");
        }
        if (tenant != null && !tenant.equals(credential.key().tenant())) {
            throw new ProblemException(
                    403,
                    "Forbidden",
                    "a key opens scopes of its own tenant ('"
                            + credential.key().tenant()
                            + "') only");
        }
    }

    /**
     * A key (not the admin) may nest a run scope only in another run scope of its own tenant: a
     * child run's budget in its parent run's.
     */
    private Uni<Void> parentOfItsTenant(Credential credential, ScopeRequest r) {
        if (credential.admin() || r.parent() == null) {
            return Uni.createFrom().voidItem();
        }
        if (!r.parent().startsWith("run:")) {
            throw new ProblemException(
                    403,
                    "Forbidden",
                    "a key may nest a run scope only in another run:* scope, not '"
                            + r.parent()
                            + "'");
        }
        return read(r.parent())
                .invoke(
                        view -> {
                            if (!view.tenant().equals(credential.key().tenant())) {
                                throw unknown(r.parent());
                            }
                        })
                .replaceWithVoid();
    }

    private static ProblemException unknown(String scope) {
        return new ProblemException(
                404,
                "Unknown scope",
                "no scope '" + scope + "'; create it with PUT /admin/v1/scopes/" + scope);
    }

    private Uni<ScopeView> read(String scope) {
        return pool.preparedQuery("SELECT * FROM gateway.scopes WHERE scope = $1")
                .execute(Tuple.of(scope))
                .map(
                        rows -> {
                            if (rows.rowCount() == 0) {
                                throw unknown(scope);
                            }
                            return view(rows.iterator().next());
                        });
    }

    @POST
    @Path("/{scope: .+}/pause")
    public Uni<ScopeView> pause(@PathParam("scope") String scope) {
        return setPaused(scope, true);
    }

    @POST
    @Path("/{scope: .+}/resume")
    public Uni<ScopeView> resume(@PathParam("scope") String scope) {
        return setPaused(scope, false);
    }

    @DELETE
    @Path("/{scope: .+}")
    public Uni<RestResponse<Void>> delete(@PathParam("scope") String scope) {
        return pool.preparedQuery("DELETE FROM gateway.scopes WHERE scope = $1")
                .execute(Tuple.of(scope))
                .map(
                        rows -> {
                            if (rows.rowCount() == 0) {
                                throw new ProblemException(
                                        404, "Unknown scope", "no scope '" + scope + "'");
                            }
                            governor.changed(scope);
                            return RestResponse.noContent();
                        });
    }

    private Uni<ScopeView> setPaused(String scope, boolean paused) {
        return pool.preparedQuery("UPDATE gateway.scopes SET paused = $2 WHERE scope = $1")
                .execute(Tuple.of(scope, paused))
                .chain(
                        rows -> {
                            if (rows.rowCount() == 0) {
                                throw new ProblemException(
                                        404, "Unknown scope", "no scope '" + scope + "'");
                            }
                            governor.changed(scope);
                            return read(scope);
                        });
    }

    private static void positive(List<FieldError> errors, String field, Long value) {
        if (value != null && value < 1) {
            errors.add(new FieldError(field, "must be a positive number"));
        }
    }

    private static ScopeView view(Row r) {
        Long maxCost = r.getLong("max_cost_micros");
        return new ScopeView(
                r.getString("scope"),
                r.getString("tenant_id"),
                r.getString("parent"),
                r.getLong("max_tokens"),
                maxCost == null ? null : maxCost / 1_000_000.0,
                r.getString("reset_period"),
                r.getOffsetDateTime("period_start").toInstant(),
                r.getLong("used_tokens"),
                r.getLong("used_cost_micros") / 1_000_000.0,
                r.getLong("reserved_tokens"),
                r.getLong("reserved_cost_micros") / 1_000_000.0,
                r.getInteger("rpm"),
                r.getInteger("tpm"),
                r.getBoolean("paused"));
    }
}
