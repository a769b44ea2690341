package io.flotilla.registry.auth;

import io.flotilla.common.problem.ProblemException;
import io.flotilla.common.secret.Secrets;
import io.flotilla.registry.config.RegistryConfig;
import jakarta.enterprise.context.ApplicationScoped;

/** Checks the admin credential (operator, platform team) against configuration. */
@ApplicationScoped
public class Credentials {

    private final RegistryConfig config;

    Credentials(RegistryConfig config) {
        this.config = config;
    }

    public boolean isAdmin(String bearer) {
        return config.adminToken().map(admin -> Secrets.same(admin, bearer)).orElse(false);
    }

    /** Throws 401/403 unless the bearer token is the admin credential. */
    public void requireAdmin(String bearer) {
        if (config.adminToken().isEmpty()) {
            throw new ProblemException(
                    403,
                    "Admin API disabled",
                    "no admin credential is configured; set FLOTILLA_REGISTRY_ADMIN_TOKEN to enable listing and admin deregistration");
        }
        if (bearer == null) {
            throw unauthenticated("send the admin credential as 'Authorization: Bearer <token>'");
        }
        if (!isAdmin(bearer)) {
            throw new ProblemException(403, "Forbidden", "this call needs the admin credential");
        }
    }

    public static ProblemException unauthenticated(String detail) {
        return new ProblemException(401, "Unauthenticated", detail);
    }
}
