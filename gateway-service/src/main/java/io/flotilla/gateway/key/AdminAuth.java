package io.flotilla.gateway.key;

import io.flotilla.common.problem.ProblemException;
import io.flotilla.gateway.config.GatewayConfig;
import jakarta.inject.Singleton;

/** The admin credential check of /admin/v1 (and of admin reads elsewhere). */
@Singleton
public class AdminAuth {

    private final GatewayConfig config;

    AdminAuth(GatewayConfig config) {
        this.config = config;
    }

    /** The bearer token of an Authorization header, or null. */
    public static String bearer(String authorization) {
        return authorization != null && authorization.regionMatches(true, 0, "Bearer ", 0, 7) ? authorization.substring(7).trim() : null;
    }

    public boolean isAdmin(String authorization) {
        return config.adminToken().isPresent() && Keys.same(config.adminToken().get(), bearer(authorization));
    }

    /** Throws 401/403 unless the header carries the admin credential. */
    public void require(String authorization) {
        if (config.adminToken().isEmpty()) {
            throw new ProblemException(403, "Admin API disabled",
                    "no admin credential is configured; set FLOTILLA_GATEWAY_ADMIN_TOKEN (from a Kubernetes secret)");
        }
        if (bearer(authorization) == null) {
            throw new ProblemException(401, "Unauthenticated", "send the admin credential as 'Authorization: Bearer <token>'");
        }
        if (!isAdmin(authorization)) {
            throw new ProblemException(403, "Forbidden", "this call needs the admin credential");
        }
    }
}
