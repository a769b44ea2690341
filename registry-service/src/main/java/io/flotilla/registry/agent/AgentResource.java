package io.flotilla.registry.agent;

import io.flotilla.common.problem.ProblemException;
import io.flotilla.common.secret.Secrets;
import io.flotilla.registry.auth.Credentials;
import io.smallrye.mutiny.Uni;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import java.net.URI;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import org.jboss.resteasy.reactive.RestResponse;

/** HTTP surface of the registry: parse, call {@link AgentService}, map the answer. */
@Path("/api/v1")
@Produces(MediaType.APPLICATION_JSON)
@Consumes(MediaType.APPLICATION_JSON)
public class AgentResource {

    private static final int MAX_LIST = 5000;

    private final AgentService agents;
    private final AgentStore store;
    private final Credentials credentials;

    AgentResource(AgentService agents, AgentStore store, Credentials credentials) {
        this.agents = agents;
        this.store = store;
        this.credentials = credentials;
    }

    @POST
    @Path("/agents")
    public Uni<RestResponse<Registration>> register(RegisterRequest request) {
        return agents.register(request)
                .map(
                        r ->
                                RestResponse.ResponseBuilder.<Registration>created(
                                                URI.create("/api/v1/agents/" + r.id()))
                                        .entity(r)
                                        .build());
    }

    @PUT
    @Path("/agents/{id}/heartbeat")
    public Uni<Lease> heartbeat(
            @PathParam("id") String id,
            @HeaderParam(HttpHeaders.AUTHORIZATION) String authorization) {
        return agents.heartbeat(uuid(id), Secrets.bearer(authorization));
    }

    @DELETE
    @Path("/agents/{id}")
    public Uni<RestResponse<Void>> deregister(
            @PathParam("id") String id,
            @HeaderParam(HttpHeaders.AUTHORIZATION) String authorization) {
        return agents.deregister(uuid(id), Secrets.bearer(authorization))
                .map(v -> RestResponse.noContent());
    }

    @GET
    @Path("/agents/{id}")
    public Uni<AgentView> get(
            @PathParam("id") String id,
            @HeaderParam(HttpHeaders.AUTHORIZATION) String authorization) {
        credentials.requireAdmin(Secrets.bearer(authorization));
        UUID agentId = uuid(id);
        return store.find(agentId)
                .map(
                        agent -> {
                            if (agent == null) {
                                throw new ProblemException(
                                        404,
                                        "Unknown registration",
                                        "no registration " + id + " exists");
                            }
                            return agent;
                        });
    }

    @GET
    @Path("/agents")
    public Uni<List<AgentView>> list(
            @QueryParam("namespace") String namespace,
            @QueryParam("kind") String kind,
            @QueryParam("status") String status,
            @QueryParam("limit") Integer limit,
            @HeaderParam(HttpHeaders.AUTHORIZATION) String authorization) {
        credentials.requireAdmin(Secrets.bearer(authorization));
        Boolean live =
                status == null || status.isEmpty()
                        ? null
                        : switch (status.toLowerCase(Locale.ROOT)) {
                            case "active" -> Boolean.TRUE;
                            case "expired" -> Boolean.FALSE;
                            default ->
                                    throw new ProblemException(
                                            400,
                                            "Invalid request",
                                            "status: '"
                                                    + status
                                                    + "' is not known; use active or expired, or leave it out for both");
                        };
        int max = limit == null ? 1000 : limit;
        if (max < 1 || max > MAX_LIST) {
            throw new ProblemException(
                    400, "Invalid request", "limit: must be between 1 and " + MAX_LIST);
        }
        return store.list(blankToNull(namespace), blankToNull(kind), live, max);
    }

    @POST
    @Path("/tokens/verify")
    public Uni<Verification> verify(Verification.Request request) {
        return agents.verify(request);
    }

    private static UUID uuid(String id) {
        try {
            return UUID.fromString(id);
        } catch (IllegalArgumentException e) {
            throw new ProblemException(
                    404,
                    "Unknown registration",
                    "'"
                            + (id.length() > 40 ? id.substring(0, 40) + "..." : id)
                            + "' is not a registration id (a UUID returned by POST /api/v1/agents)");
        }
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
