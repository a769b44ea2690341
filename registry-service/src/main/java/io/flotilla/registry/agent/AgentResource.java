package io.flotilla.registry.agent;

import io.flotilla.common.problem.ProblemException;
import io.flotilla.registry.auth.Accepts;
import io.flotilla.registry.auth.AgentToken;
import io.smallrye.mutiny.Uni;
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

    AgentResource(AgentService agents, AgentStore store) {
        this.agents = agents;
        this.store = store;
    }

    @POST
    @Path("/agents")
    @Accepts({Accepts.Kind.ADMIN, Accepts.Kind.SERVICE_ACCOUNT, Accepts.Kind.AGENT})
    public Uni<RestResponse<Registration>> register(
            RegisterRequest request, @Context SecurityContext security) {
        return agents.register(request, security.getUserPrincipal())
                .map(
                        r ->
                                RestResponse.ResponseBuilder.<Registration>created(
                                                URI.create("/api/v1/agents/" + r.id()))
                                        .entity(r)
                                        .build());
    }

    @PUT
    @Path("/agents/{id}/heartbeat")
    @Accepts(Accepts.Kind.AGENT)
    public Uni<Lease> heartbeat(@PathParam("id") String id, @Context SecurityContext security) {
        return agents.heartbeat(uuid(id), ((AgentToken) security.getUserPrincipal()).token());
    }

    @DELETE
    @Path("/agents/{id}")
    @Accepts({Accepts.Kind.ADMIN, Accepts.Kind.AGENT})
    public Uni<RestResponse<Void>> deregister(
            @PathParam("id") String id, @Context SecurityContext security) {
        return agents.deregister(uuid(id), security.getUserPrincipal())
                .map(v -> RestResponse.noContent());
    }

    @GET
    @Path("/agents/{id}")
    public Uni<AgentView> get(@PathParam("id") String id) {
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
            @QueryParam("limit") Integer limit) {
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
    @Accepts({Accepts.Kind.ADMIN, Accepts.Kind.SERVICE_ACCOUNT, Accepts.Kind.AGENT})
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
