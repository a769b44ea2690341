package io.flotilla.executor.auth;

import io.flotilla.common.auth.Caller;
import io.flotilla.common.auth.TokenReviews;
import io.flotilla.common.secret.Secrets;
import io.flotilla.executor.ExecutorConfig;
import io.smallrye.mutiny.Uni;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.core.HttpHeaders;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/**
 * The executor API's one authentication mechanism: every JAX-RS route needs a bearer token, the
 * executor's admin token or (when enabled) a Kubernetes ServiceAccount token checked with
 * TokenReview, whose caller is bound to its namespace. Resources authorise with {@link
 * Caller#require}. Health and metrics ({@code /q/*}) are not JAX-RS routes and stay open.
 */
public class Authentication {

    private final ExecutorConfig config;
    private final TokenReviews reviews;

    Authentication(ExecutorConfig config, TokenReviews reviews) {
        this.config = config;
        this.reviews = reviews;
    }

    @ServerRequestFilter(priority = Priorities.AUTHENTICATION)
    public Uni<Void> authenticate(ContainerRequestContext request) {
        String token = Secrets.bearer(request.getHeaderString(HttpHeaders.AUTHORIZATION));
        if (token == null) {
            throw Caller.unauthenticated(expected());
        }
        if (config.adminToken().map(admin -> Secrets.same(admin, token)).orElse(false)) {
            Caller.ADMIN_TOKEN.authenticate(request);
            return Uni.createFrom().voidItem();
        }
        if (!reviews.enabled()) {
            throw Caller.unauthenticated("the bearer token is not valid; " + expected());
        }
        return Uni.createFrom()
                .completionStage(reviews.review(token))
                .map(
                        caller ->
                                caller.orElseThrow(
                                        () ->
                                                Caller.unauthenticated(
                                                        "the Kubernetes API server does not accept the bearer token as a ServiceAccount's or an admin's; "
                                                                + expected())))
                .invoke(caller -> caller.authenticate(request))
                .replaceWithVoid();
    }

    private String expected() {
        return reviews.enabled()
                ? "send 'Authorization: Bearer <token>' with a ServiceAccount token of the namespace you act on, or the executor's admin token"
                : "send 'Authorization: Bearer <token>' with the executor's admin token (flotilla.executor.admin-token)";
    }
}
