package io.flotilla.executor.workflow;

import io.flotilla.common.auth.Caller;
import io.flotilla.common.problem.Problem;
import io.flotilla.common.problem.ProblemException;
import io.flotilla.common.workflow.WorkflowLimits;
import io.flotilla.common.workflow.WorkflowSpec;
import io.flotilla.common.workflow.WorkflowSpecs;
import io.flotilla.executor.ExecutorConfig;
import io.flotilla.executor.store.WorkflowStore;
import io.smallrye.mutiny.Uni;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.SecurityContext;
import java.util.List;
import org.jboss.resteasy.reactive.RestResponse;

/**
 * Workflow definitions: publish (YAML or JSON, validated with the shared validator), read, delete.
 * Each distinct spec becomes an immutable revision named by its content hash.
 */
@Path("/api/v1/workflows/{namespace}/{name}")
@Produces(MediaType.APPLICATION_JSON)
public class WorkflowResource {

    private final WorkflowStore store;
    private final WorkflowLimits limits;

    WorkflowResource(WorkflowStore store, ExecutorConfig config) {
        this.store = store;
        this.limits = new WorkflowLimits(config.limits().steps(), config.limits().loopIterations());
    }

    @PUT
    @Consumes({
        MediaType.APPLICATION_JSON,
        "application/yaml",
        "application/x-yaml",
        "text/yaml",
        MediaType.TEXT_PLAIN
    })
    public Uni<RestResponse<WorkflowStore.Published>> put(
            @PathParam("namespace") String namespace,
            @PathParam("name") String name,
            String body,
            @Context SecurityContext security) {
        names(namespace, name, security);
        WorkflowSpec spec;
        try {
            spec = WorkflowSpecs.read(body, limits);
        } catch (WorkflowSpecs.InvalidWorkflowException e) {
            throw ProblemException.invalid(e.errors());
        }
        return store.publish(namespace, name, spec)
                .map(
                        p ->
                                RestResponse.ResponseBuilder.<WorkflowStore.Published>create(
                                                p.created()
                                                        ? RestResponse.Status.CREATED
                                                        : RestResponse.Status.OK)
                                        .entity(p)
                                        .build());
    }

    @GET
    public Uni<WorkflowStore.Published> get(
            @PathParam("namespace") String namespace,
            @PathParam("name") String name,
            @Context SecurityContext security) {
        names(namespace, name, security);
        return store.current(namespace, name)
                .map(
                        p -> {
                            if (p == null) {
                                throw notFound(namespace, name);
                            }
                            return p;
                        });
    }

    /** Every revision of the workflow, newest first, with how many runs each has. */
    @GET
    @Path("/revisions")
    public Uni<List<WorkflowStore.Revision>> revisions(
            @PathParam("namespace") String namespace,
            @PathParam("name") String name,
            @Context SecurityContext security) {
        names(namespace, name, security);
        return store.revisions(namespace, name)
                .map(
                        r -> {
                            if (r.isEmpty()) {
                                throw notFound(namespace, name);
                            }
                            return r;
                        });
    }

    @DELETE
    public Uni<RestResponse<Void>> delete(
            @PathParam("namespace") String namespace,
            @PathParam("name") String name,
            @Context SecurityContext security) {
        names(namespace, name, security);
        return store.delete(namespace, name)
                .map(
                        found -> {
                            if (!found) {
                                throw notFound(namespace, name);
                            }
                            return RestResponse.noContent();
                        });
    }

    private static ProblemException notFound(String namespace, String name) {
        return new ProblemException(
                404,
                "Unknown workflow",
                "no workflow "
                        + namespace
                        + "/"
                        + name
                        + "; publish it with PUT /api/v1/workflows/"
                        + namespace
                        + "/"
                        + name);
    }

    /** Checks the names, then that the caller may act on the namespace. */
    private static void names(String namespace, String name, SecurityContext security) {
        if (!new WorkflowRef(namespace, name).valid()) {
            throw ProblemException.invalid(
                    List.of(new Problem.FieldError("path", WorkflowRef.RULE)));
        }
        Caller.of(security).require(namespace);
    }
}
