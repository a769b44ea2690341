package io.flotilla.common.auth;

import io.flotilla.common.problem.ProblemException;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.SecurityContext;
import java.security.Principal;

/**
 * Who made a request: the admin (the service's admin token, or a Kubernetes identity in a
 * configured admin group), or a Kubernetes ServiceAccount bound to its namespace. A service's
 * authentication filter sets it as the request's {@link SecurityContext} principal; resources read
 * it with {@link #of(SecurityContext)}.
 *
 * @param name the identity, for audit fields and error messages (never the token)
 * @param namespace the ServiceAccount's namespace; null for an admin that is not one
 * @param pod the pod a ServiceAccount token is bound to (a projected token in a pod), else null
 * @param admin whether it may act on every namespace
 */
public record Caller(String name, String namespace, String pod, boolean admin)
        implements Principal {

    /** The holder of a service's admin token. */
    public static final Caller ADMIN_TOKEN = new Caller("admin-token", null, null, true);

    @Override
    public String getName() {
        return name;
    }

    /** Whether this caller may read and change what belongs to {@code namespace}. */
    public boolean mayAccess(String namespace) {
        return admin || (this.namespace != null && this.namespace.equals(namespace));
    }

    /** Throws 403 unless this caller may act on {@code namespace}. */
    public void require(String namespace) {
        if (!mayAccess(namespace)) {
            throw new ProblemException(
                    403,
                    "Forbidden",
                    "the caller "
                            + name
                            + " may act on namespace "
                            + (this.namespace == null ? "(none)" : this.namespace)
                            + " only, not on "
                            + namespace
                            + "; use a ServiceAccount token of "
                            + namespace
                            + " or an admin credential");
        }
    }

    /** Makes this caller the request's security context. */
    public void authenticate(ContainerRequestContext request) {
        Authenticated.as(request, this, admin);
    }

    /** The caller the service's authentication filter set; fails if none did (a wiring bug). */
    public static Caller of(SecurityContext security) {
        if (security != null && security.getUserPrincipal() instanceof Caller caller) {
            return caller;
        }
        throw new IllegalStateException("no authenticated caller on this request");
    }

    /** 401 with what to send. */
    public static ProblemException unauthenticated(String expected) {
        return new ProblemException(401, "Unauthenticated", expected);
    }
}
