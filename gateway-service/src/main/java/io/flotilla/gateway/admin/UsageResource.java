package io.flotilla.gateway.admin;

import io.flotilla.common.problem.ProblemException;
import io.smallrye.mutiny.Uni;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.SecurityContext;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Usage totals from the ledger, grouped by tenant, key, model, day or budget scope. The admin
 * credential reads any tenant; a virtual key reads only its own tenant.
 */
@Path("/api/v1/usage")
@Produces(MediaType.APPLICATION_JSON)
public class UsageResource {

    private static final Map<String, String> GROUPS =
            Map.of(
                    "tenant", "tenant_id",
                    "key", "key_id::text",
                    "model",
                            "alias || ' (' || coalesce(provider, '-') || '/' || coalesce(model, '-') || ')'",
                    "day", "to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
                    "scope", "unnest(scopes)");

    private final Pool pool;

    UsageResource(Pool pool) {
        this.pool = pool;
    }

    public record Total(
            String group, long requests, long inputTokens, long outputTokens, double costUsd) {}

    /**
     * Who a credential is: the admin, or a key of a tenant (the console signs people in with it).
     */
    public record Me(boolean admin, String tenant, String keyId) {}

    @GET
    @Path("/me")
    @KeysAllowed
    public Me me(@Context SecurityContext security) {
        Credential c = Credential.of(security);
        return c.admin()
                ? new Me(true, null, null)
                : new Me(false, c.key().tenant(), c.key().keyId().toString());
    }

    @GET
    @KeysAllowed
    public Uni<List<Total>> usage(
            @QueryParam("groupBy") String groupBy,
            @QueryParam("tenant") String tenant,
            @QueryParam("from") String from,
            @QueryParam("to") String to,
            @Context SecurityContext security) {
        String by = groupBy == null ? "model" : groupBy;
        String expression = GROUPS.get(by);
        if (expression == null) {
            throw new ProblemException(
                    400,
                    "Invalid request",
                    "groupBy: use one of "
                            + String.join(", ", new java.util.TreeSet<>(GROUPS.keySet())));
        }
        LocalDate fromDay = day("from", from, LocalDate.of(1970, 1, 1));
        LocalDate toDay = day("to", to, LocalDate.of(9999, 1, 1));
        Credential credential = Credential.of(security);
        if (!credential.admin() && tenant != null && !tenant.equals(credential.key().tenant())) {
            throw new ProblemException(
                    403,
                    "Forbidden",
                    "a key reads only its own tenant's usage ('"
                            + credential.key().tenant()
                            + "')");
        }
        String t = credential.admin() ? tenant : credential.key().tenant();
        return pool.preparedQuery(
                        "SELECT "
                                + expression
                                + " AS g, count(*) AS requests,"
                                + " sum(input_tokens) AS input, sum(output_tokens) AS output, sum(cost_micros) AS cost"
                                + " FROM gateway.ledger WHERE ($1::text IS NULL OR tenant_id = $1) AND at >= $2 AND at < $3"
                                + " GROUP BY 1 ORDER BY 1")
                .execute(
                        Tuple.of(
                                t,
                                fromDay.atStartOfDay().atOffset(ZoneOffset.UTC),
                                toDay.plusDays(1).atStartOfDay().atOffset(ZoneOffset.UTC)))
                .map(
                        rows -> {
                            List<Total> out = new ArrayList<>();
                            rows.forEach(
                                    r ->
                                            out.add(
                                                    new Total(
                                                            r.getString("g"),
                                                            r.getLong("requests"),
                                                            r.getLong("input"),
                                                            r.getLong("output"),
                                                            r.getLong("cost") / 1_000_000.0)));
                            return out;
                        });
    }

    private static LocalDate day(String field, String value, LocalDate fallback) {
        try {
            return value == null || value.isBlank() ? fallback : LocalDate.parse(value);
        } catch (DateTimeParseException e) {
            throw new ProblemException(
                    400, "Invalid request", field + ": write a day as YYYY-MM-DD");
        }
    }
}
