package io.flotilla.gateway.admin;

import io.flotilla.common.problem.Problem.FieldError;
import io.flotilla.common.problem.ProblemException;
import io.flotilla.gateway.chat.Breakers;
import io.flotilla.gateway.key.Keys;
import io.flotilla.gateway.route.RouteTable;
import io.flotilla.gateway.route.Routes;
import io.flotilla.gateway.route.Target;
import io.smallrye.mutiny.Uni;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Pattern;
import org.jboss.resteasy.reactive.RestResponse;

/**
 * The admin API: tenants, virtual keys, stored routes, provider health. Bearer admin credential.
 */
@Path("/admin/v1")
@Produces(MediaType.APPLICATION_JSON)
@Consumes(MediaType.APPLICATION_JSON)
public class AdminResource {

    private static final Pattern ID = Pattern.compile("[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?");

    private final Keys keys;
    private final RouteTable routes;
    private final Breakers breakers;

    AdminResource(Keys keys, RouteTable routes, Breakers breakers) {
        this.keys = keys;
        this.routes = routes;
        this.breakers = breakers;
    }

    public record TenantRequest(String id, String displayName) {}

    /** {@code runScopes}: the key may also open and read its tenant's run:* budget scopes. */
    public record KeyRequest(String name, List<String> allowedModels, Boolean runScopes) {}

    @POST
    @Path("/tenants")
    public Uni<RestResponse<Keys.Tenant>> createTenant(TenantRequest request) {
        if (request != null
                && request.displayName() != null
                && (request.displayName().length() > 200
                        || request.displayName().chars().anyMatch(Character::isISOControl))) {
            throw ProblemException.invalid(
                    List.of(
                            new FieldError(
                                    "displayName",
                                    "at most 200 characters, no control characters")));
        }
        if (request == null || request.id() == null || !ID.matcher(request.id()).matches()) {
            throw ProblemException.invalid(
                    List.of(
                            new FieldError(
                                    "id",
                                    "is required: 1 to 63 lower-case letters, digits and '-', starting and ending with a letter or digit")));
        }
        return keys.createTenant(request.id(), request.displayName())
                .map(
                        t ->
                                RestResponse.ResponseBuilder.<Keys.Tenant>created(
                                                URI.create("/admin/v1/tenants/" + t.id()))
                                        .entity(t)
                                        .build());
    }

    @GET
    @Path("/tenants")
    public Uni<List<Keys.Tenant>> tenants() {
        return keys.tenants();
    }

    @DELETE
    @Path("/tenants/{tenant}")
    public Uni<RestResponse<Void>> deleteTenant(@PathParam("tenant") String tenant) {
        return keys.deleteTenant(tenant)
                .map(found -> found ? RestResponse.noContent() : notFound("tenant", tenant));
    }

    @POST
    @Path("/tenants/{tenant}/keys")
    public Uni<RestResponse<Keys.NewKey>> createKey(
            @PathParam("tenant") String tenant, KeyRequest request) {
        List<FieldError> errors = new ArrayList<>();
        if (request == null
                || request.name() == null
                || request.name().isBlank()
                || request.name().length() > 100
                || request.name().chars().anyMatch(Character::isISOControl)) {
            errors.add(
                    new FieldError(
                            "name", "is required: at most 100 characters, no control characters"));
        }
        if (request == null
                || request.allowedModels() == null
                || request.allowedModels().isEmpty()) {
            errors.add(
                    new FieldError(
                            "allowedModels",
                            "list the model aliases the key may use, or [\"*\"] for all; known: "
                                    + String.join(", ", routes.all().keySet())));
        } else {
            for (String alias : request.allowedModels()) {
                if (!"*".equals(alias) && routes.route(alias) == null) {
                    errors.add(
                            new FieldError(
                                    "allowedModels",
                                    "'"
                                            + alias
                                            + "' is not a model alias; known: "
                                            + String.join(", ", routes.all().keySet())));
                }
            }
        }
        if (!errors.isEmpty()) {
            throw ProblemException.invalid(errors);
        }
        return keys.createKey(
                        tenant,
                        request.name(),
                        List.copyOf(request.allowedModels()),
                        Boolean.TRUE.equals(request.runScopes()))
                .map(
                        k ->
                                RestResponse.ResponseBuilder.<Keys.NewKey>created(
                                                URI.create("/admin/v1/keys/" + k.id()))
                                        .entity(k)
                                        .build());
    }

    @GET
    @Path("/tenants/{tenant}/keys")
    public Uni<List<Keys.KeyView>> keys(@PathParam("tenant") String tenant) {
        return keys.keys(tenant);
    }

    @DELETE
    @Path("/keys/{id}")
    public Uni<RestResponse<Void>> revoke(@PathParam("id") String id) {
        UUID keyId;
        try {
            keyId = UUID.fromString(id);
        } catch (IllegalArgumentException e) {
            throw new ProblemException(404, "Unknown key", "'" + id + "' is not a key id");
        }
        return keys.revoke(keyId)
                .map(found -> found ? RestResponse.noContent() : notFound("live key", id));
    }

    @GET
    @Path("/routes")
    public Map<String, ?> routes() {
        Map<String, Object> out = new java.util.LinkedHashMap<>();
        routes.all()
                .forEach(
                        (alias, route) ->
                                out.put(
                                        alias,
                                        route.isAuto()
                                                ? Map.of("auto", route.auto())
                                                : Map.of(
                                                        "targets",
                                                        route.targets().stream()
                                                                .map(AdminResource::target)
                                                                .toList())));
        routes.unserved().forEach((alias, why) -> out.put(alias, Map.of("unserved", why)));
        return out;
    }

    private static Map<String, Object> target(Target t) {
        return Map.of(
                "id",
                t.id(),
                "weight",
                t.weight(),
                "contextWindow",
                t.contextWindow() == null ? "unknown" : t.contextWindow());
    }

    @PUT
    @Path("/routes/{alias}")
    public Uni<RestResponse<Void>> putRoute(
            @PathParam("alias") String alias, Routes.RouteSpec spec) {
        if (!ID.matcher(alias).matches()) {
            throw new ProblemException(
                    400, "Invalid request", "alias: 1 to 63 lower-case letters, digits and '-'");
        }
        return routes.store(alias, spec).map(v -> RestResponse.noContent());
    }

    @DELETE
    @Path("/routes/{alias}")
    public Uni<RestResponse<Void>> deleteRoute(@PathParam("alias") String alias) {
        return routes.remove(alias)
                .map(found -> found ? RestResponse.noContent() : notFound("stored route", alias));
    }

    @GET
    @Path("/providers/health")
    public Map<String, String> health() {
        return breakers.states();
    }

    private static <T> RestResponse<T> notFound(String what, String id) {
        throw new ProblemException(404, "Not found", "no " + what + " '" + id + "'");
    }
}
