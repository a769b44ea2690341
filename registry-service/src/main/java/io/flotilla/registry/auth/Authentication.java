package io.flotilla.registry.auth;

import io.flotilla.common.auth.Authenticated;
import io.flotilla.common.auth.Caller;
import io.flotilla.common.auth.TokenReviews;
import io.flotilla.common.problem.ProblemException;
import io.flotilla.common.secret.Secrets;
import io.flotilla.registry.config.RegistryConfig;
import io.smallrye.mutiny.Uni;
import jakarta.ws.rs.Priorities;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ResourceInfo;
import jakarta.ws.rs.core.HttpHeaders;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import org.jboss.resteasy.reactive.server.ServerRequestFilter;

/**
 * The registry's one authentication mechanism: every JAX-RS route needs a bearer token, of a kind
 * its {@link Accepts} names (the admin's only when it names none). The principal is a {@link
 * Caller} (admin token, or a ServiceAccount checked with TokenReview) or an {@link AgentToken}.
 */
public class Authentication {

    private final RegistryConfig config;
    private final TokenReviews reviews;

    Authentication(RegistryConfig config, TokenReviews reviews) {
        this.config = config;
        this.reviews = reviews;
    }

    @ServerRequestFilter(priority = Priorities.AUTHENTICATION)
    public Uni<Void> authenticate(ContainerRequestContext request, ResourceInfo resource) {
        Accepts accepts = resource.getResourceMethod().getAnnotation(Accepts.class);
        List<Accepts.Kind> kinds =
                accepts == null ? List.of(Accepts.Kind.ADMIN) : Arrays.asList(accepts.value());
        String token = Secrets.bearer(request.getHeaderString(HttpHeaders.AUTHORIZATION));
        if (token == null) {
            throw Caller.unauthenticated(
                    "send 'Authorization: Bearer <token>' with " + describe(kinds));
        }
        if (config.adminToken().map(admin -> Secrets.same(admin, token)).orElse(false)) {
            if (!kinds.contains(Accepts.Kind.ADMIN)) {
                throw forbidden(kinds);
            }
            Caller.ADMIN_TOKEN.authenticate(request);
            return Uni.createFrom().voidItem();
        }
        if (token.startsWith(AgentToken.PREFIX)) {
            if (!kinds.contains(Accepts.Kind.AGENT)) {
                throw forbidden(kinds);
            }
            Authenticated.as(request, new AgentToken(token), false);
            return Uni.createFrom().voidItem();
        }
        boolean reviewable =
                reviews.enabled()
                        && (kinds.contains(Accepts.Kind.SERVICE_ACCOUNT)
                                || kinds.contains(Accepts.Kind.ADMIN));
        if (!reviewable) {
            if (accepts == null && config.adminToken().isEmpty()) {
                throw new ProblemException(
                        403,
                        "Admin API disabled",
                        "no admin credential is configured; set FLOTILLA_REGISTRY_ADMIN_TOKEN to enable listing and admin deregistration");
            }
            throw Caller.unauthenticated(
                    "the bearer token is not valid here; send " + describe(kinds));
        }
        return Uni.createFrom()
                .completionStage(reviews.review(token))
                .invoke(
                        caller -> {
                            Caller c =
                                    caller.orElseThrow(
                                            () ->
                                                    Caller.unauthenticated(
                                                            "the Kubernetes API server does not accept the bearer token; send "
                                                                    + describe(kinds)));
                            if (!(c.admin() || kinds.contains(Accepts.Kind.SERVICE_ACCOUNT))) {
                                throw forbidden(kinds);
                            }
                            c.authenticate(request);
                        })
                .replaceWithVoid();
    }

    private static ProblemException forbidden(List<Accepts.Kind> kinds) {
        return new ProblemException(403, "Forbidden", "this call needs " + describe(kinds));
    }

    private static String describe(List<Accepts.Kind> kinds) {
        return kinds.stream()
                .map(
                        k ->
                                switch (k) {
                                    case ADMIN -> "the admin credential";
                                    case SERVICE_ACCOUNT ->
                                            "a ServiceAccount token of the agent's namespace";
                                    case AGENT -> "the registration's own token";
                                })
                .collect(Collectors.joining(" or "));
    }
}
