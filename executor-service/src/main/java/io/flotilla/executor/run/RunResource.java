package io.flotilla.executor.run;

import io.flotilla.common.auth.Caller;
import io.flotilla.common.problem.Problem.FieldError;
import io.flotilla.common.problem.ProblemException;
import io.flotilla.executor.step.RunStatus;
import io.flotilla.executor.store.RunStore;
import io.flotilla.executor.workflow.WorkflowRef;
import io.smallrye.common.annotation.Blocking;
import io.smallrye.mutiny.Multi;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.HeaderParam;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.SecurityContext;
import jakarta.ws.rs.sse.OutboundSseEvent;
import jakarta.ws.rs.sse.Sse;
import java.net.URI;
import java.sql.SQLException;
import java.util.List;
import java.util.UUID;
import org.jboss.resteasy.reactive.RestResponse;

/** Runs: start (idempotent), read, list, cancel, and follow as server-sent events. */
@Path("/api/v1/runs")
@Produces(MediaType.APPLICATION_JSON)
public class RunResource {

    private static final List<String> STATUSES =
            java.util.Arrays.stream(RunStatus.values()).map(RunStatus::db).toList();

    /** The answer to a start or a cancel. */
    public record Accepted(UUID id, RunStatus status) {}

    private final RunService runs;
    private final RunQueries queries;
    private final RunEvents events;

    RunResource(RunService runs, RunQueries queries, RunEvents events) {
        this.runs = runs;
        this.queries = queries;
        this.events = events;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public RestResponse<Accepted> start(
            RunService.StartRequest request, @Context SecurityContext security)
            throws SQLException {
        if (request == null) {
            throw ProblemException.invalid(
                    List.of(
                            new FieldError(
                                    "body", "send {workflow, input, budget?, idempotencyKey?}")));
        }
        RunStore.Started started = runs.start(request, Caller.of(security));
        return RestResponse.ResponseBuilder.accepted(new Accepted(started.id(), started.status()))
                .location(URI.create("/api/v1/runs/" + started.id()))
                .header("Idempotent-Replayed", String.valueOf(started.replayed()))
                .build();
    }

    @GET
    @Path("/{id}")
    public RunStore.View get(@PathParam("id") String id, @Context SecurityContext security)
            throws SQLException {
        return visible(uuid(id), security);
    }

    @GET
    public List<RunStore.View> list(
            @QueryParam("workflow") String workflow,
            @QueryParam("namespace") String namespaceParam,
            @QueryParam("status") String status,
            @QueryParam("since") String since,
            @QueryParam("limit") @DefaultValue("50") int limit,
            @Context SecurityContext security)
            throws SQLException {
        if (status != null && !STATUSES.contains(status)) {
            throw ProblemException.invalid(
                    List.of(new FieldError("status", "must be one of " + STATUSES)));
        }
        java.time.Instant from = null;
        if (since != null) {
            try {
                from = java.time.OffsetDateTime.parse(since).toInstant();
            } catch (java.time.format.DateTimeParseException e) {
                throw ProblemException.invalid(
                        List.of(
                                new FieldError(
                                        "since",
                                        "give an RFC 3339 time such as 2026-12-01T00:00:00Z")));
            }
        }
        if (limit < 1 || limit > 500) {
            throw ProblemException.invalid(List.of(new FieldError("limit", "must be 1 to 500")));
        }
        WorkflowRef ref = WorkflowRef.parse(workflow);
        if (workflow != null && ref == null) {
            throw ProblemException.invalid(
                    List.of(
                            new FieldError(
                                    "workflow", "give it as namespace/name: " + WorkflowRef.RULE)));
        }
        Caller caller = Caller.of(security);
        if (ref != null) {
            caller.require(ref.namespace());
        }
        if (namespaceParam != null) {
            caller.require(namespaceParam);
        }
        String namespace =
                ref != null
                        ? ref.namespace()
                        : namespaceParam != null
                                ? namespaceParam
                                : caller.admin() ? null : caller.namespace();
        return queries.list(
                namespace,
                ref == null ? null : ref.name(),
                status == null ? null : RunStatus.of(status),
                from,
                limit);
    }

    @POST
    @Path("/{id}/cancel")
    public RestResponse<Accepted> cancel(
            @PathParam("id") String id, @Context SecurityContext security) throws SQLException {
        UUID run = uuid(id);
        visible(run, security);
        return RestResponse.accepted(new Accepted(run, runs.cancel(run)));
    }

    /** {@code POST /api/v1/runs/{id}/steps/{step}/approve} or {@code .../reject}. */
    @POST
    @Path("/{id}/steps/{step}/{decision}")
    @Consumes(MediaType.APPLICATION_JSON)
    public RestResponse<Void> decide(
            @PathParam("id") String id,
            @PathParam("step") String step,
            @PathParam("decision") String decision,
            @QueryParam("item") @DefaultValue("-1") int item,
            RunService.DecisionRequest request,
            @Context SecurityContext security)
            throws SQLException {
        if (!decision.equals("approve") && !decision.equals("reject")) {
            throw new ProblemException(
                    404, "Unknown decision", "decide with .../approve or .../reject");
        }
        UUID run = uuid(id);
        visible(run, security);
        runs.decide(run, step, item, decision.equals("approve"), request, Caller.of(security));
        return RestResponse.accepted();
    }

    @GET
    @Path("/{id}/events")
    @Produces(MediaType.SERVER_SENT_EVENTS)
    @Blocking
    public Multi<OutboundSseEvent> events(
            @PathParam("id") String id,
            @HeaderParam("Last-Event-ID") @DefaultValue("0") long after,
            @Context Sse sse,
            @Context SecurityContext security)
            throws SQLException {
        UUID run = uuid(id);
        visible(run, security); // 404/403 before the stream starts
        return events.stream(run, after, sse);
    }

    /** The run, when the caller may see its namespace. */
    private RunStore.View visible(UUID id, SecurityContext security) throws SQLException {
        RunStore.View run = queries.get(id);
        Caller.of(security).require(run.namespace());
        return run;
    }

    private static UUID uuid(String id) {
        try {
            return UUID.fromString(id);
        } catch (IllegalArgumentException e) {
            throw new ProblemException(404, "Unknown run", "'" + id + "' is not a run id (a UUID)");
        }
    }
}
