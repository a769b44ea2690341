package io.flotilla.gateway.admin;

import io.flotilla.common.auth.Authenticated;
import io.flotilla.common.problem.ProblemException;
import io.flotilla.common.secret.Secrets;
import io.flotilla.gateway.config.GatewayConfig;
import io.flotilla.gateway.key.Keys;
import io.smallrye.mutiny.Uni;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ResourceInfo;
import jakarta.ws.rs.core.HttpHeaders;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/**
 * The one authentication mechanism of the gateway's JAX-RS APIs ({@code /admin/v1}, {@code
 * /api/v1/usage}): the admin token, or a live virtual key on the routes marked {@link KeysAllowed}.
 * The OpenAI-compatible {@code /v1} authenticates its virtual keys in its own (Vert.x) handler.
 */
public class Authentication {

    private final GatewayConfig config;
    private final Keys keys;

    Authentication(GatewayConfig config, Keys keys) {
        this.config = config;
        this.keys = keys;
    }

    @ServerRequestFilter(priority = Priorities.AUTHENTICATION)
    public Uni<Void> authenticate(ContainerRequestContext request, ResourceInfo resource) {
        KeysAllowed keysAllowed = resource.getResourceMethod().getAnnotation(KeysAllowed.class);
        String token = Secrets.bearer(request.getHeaderString(HttpHeaders.AUTHORIZATION));
        if (token == null) {
            throw new ProblemException(
                    401,
                    "Unauthenticated",
                    keysAllowed == null
                            ? "send the admin credential as 'Authorization: Bearer <token>'"
                            : "send the admin credential or a virtual key as 'Authorization: Bearer <token>'");
        }
        if (config.adminToken().map(admin -> Secrets.same(admin, token)).orElse(false)) {
            set(request, Credential.ADMIN);
            return Uni.createFrom().voidItem();
        }
        if (keysAllowed == null) {
            throw config.adminToken().isEmpty()
                    ? new ProblemException(
                            403,
                            "Admin API disabled",
                            "no admin credential is configured; set FLOTILLA_GATEWAY_ADMIN_TOKEN (from a Kubernetes secret)")
                    : new ProblemException(
                            403, "Forbidden", "this call needs the admin credential");
        }
        return keys.authenticate(token)
                .invoke(
                        key -> {
                            if (key == null) {
                                throw new ProblemException(
                                        401,
                                        "Unauthenticated",
                                        "the bearer token is neither the admin credential nor a live virtual key");
                            }
                            if (keysAllowed.runScopes() && !key.runScopes()) {
                                throw new ProblemException(
                                        403,
                                        "Forbidden",
                                        "this key may not open run budget scopes; the admin creates such a key with \"runScopes\": true");
                            }
                            set(request, new Credential(key));
                        })
                .replaceWithVoid();
    }

    private static void set(ContainerRequestContext request, Credential credential) {
        Authenticated.as(request, credential, credential.admin());
    }
}
