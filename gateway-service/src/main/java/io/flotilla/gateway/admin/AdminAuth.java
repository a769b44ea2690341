package io.flotilla.gateway.admin;

import io.flotilla.common.problem.ProblemException;
import io.flotilla.common.secret.Secrets;
import io.flotilla.gateway.config.GatewayConfig;
import jakarta.inject.Singleton;

/** The admin credential check of /admin/v1 (and of admin reads elsewhere). */
@Singleton
public class AdminAuth {

    private final GatewayConfig config;

    AdminAuth(GatewayConfig config) {
        this.config = config;
    }

    public boolean isAdmin(String authorization) {
        return config.adminToken().isPresent()
                && Secrets.same(config.adminToken().get(), Secrets.bearer(authorization));
    }

    /** Throws 401/403 unless the header carries the admin credential. */
    public void require(String authorization) {
        if (config.adminToken().isEmpty()) {
            throw new ProblemException(
                    403,
                    "Admin API disabled",
                    "no admin credential is configured; set FLOTILLA_GATEWAY_ADMIN_TOKEN (from a Kubernetes secret)");
        }
        if (Secrets.bearer(authorization) == null) {
            throw new ProblemException(
                    401,
                    "Unauthenticated",
                    "send the admin credential as 'Authorization: Bearer <token>'");
        }
        if (!isAdmin(authorization)) {
            throw new ProblemException(403, "Forbidden", "this call needs the admin credential");
        }
    }
}
