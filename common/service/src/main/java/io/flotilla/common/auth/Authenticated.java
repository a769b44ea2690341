package io.flotilla.common.auth;

import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.SecurityContext;
import java.security.Principal;

/** Sets who a request's bearer token stands for as its JAX-RS {@link SecurityContext}. */
public final class Authenticated {

    /** The role of callers that act on everything ({@link SecurityContext#isUserInRole}). */
    public static final String ADMIN_ROLE = "admin";

    private Authenticated() {}

    public static void as(ContainerRequestContext request, Principal principal, boolean admin) {
        boolean secure = request.getSecurityContext().isSecure();
        request.setSecurityContext(
                new SecurityContext() {
                    @Override
                    public Principal getUserPrincipal() {
                        return principal;
                    }

                    @Override
                    public boolean isUserInRole(String role) {
                        return admin && ADMIN_ROLE.equals(role);
                    }

                    @Override
                    public boolean isSecure() {
                        return secure;
                    }

                    @Override
                    public String getAuthenticationScheme() {
                        return "Bearer";
                    }
                });
    }
}
