package io.flotilla.executor.workflow;

import io.flotilla.common.auth.Caller;
import io.flotilla.executor.store.WorkflowStore;
import io.smallrye.mutiny.Uni;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.SecurityContext;

/** The published workflows: the admin sees every namespace, a ServiceAccount its own. */
@Path("/api/v1/workflows")
@Produces(MediaType.APPLICATION_JSON)
public class WorkflowListResource {

    private final WorkflowStore store;

    WorkflowListResource(WorkflowStore store) {
        this.store = store;
    }

    @GET
    public Uni<java.util.List<WorkflowStore.Listed>> list(
            @QueryParam("namespace") String namespace, @Context SecurityContext security) {
        Caller caller = Caller.of(security);
        if (namespace != null) {
            caller.require(namespace);
        }
        return store.list(
                namespace != null ? namespace : caller.admin() ? null : caller.namespace());
    }
}
