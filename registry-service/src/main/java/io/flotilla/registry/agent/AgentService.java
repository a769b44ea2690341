package io.flotilla.registry.agent;

import io.flotilla.common.problem.ProblemException;
import io.flotilla.common.secret.Secrets;
import io.flotilla.registry.auth.Credentials;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import java.util.UUID;
import org.jboss.logging.Logger;

/** Registration lifecycle: register (or replace), heartbeat, deregister, verify. */
@ApplicationScoped
public class AgentService {

    private static final Logger LOG = Logger.getLogger(AgentService.class);

    private final AgentStore store;
    private final RegisterValidator validator;
    private final Credentials credentials;
    private final MeterRegistry meters;

    AgentService(
            AgentStore store,
            RegisterValidator validator,
            Credentials credentials,
            MeterRegistry meters) {
        this.store = store;
        this.validator = validator;
        this.credentials = credentials;
        this.meters = meters;
    }

    public Uni<Registration> register(RegisterRequest request) {
        int ttl = validator.validate(request);
        UUID id = UUID.randomUUID();
        String token = Secrets.newToken("flt_agent_");
        return store.upsert(id, request, ttl, Secrets.sha256(token))
                .map(
                        result -> {
                            meters.counter(
                                            "flotilla.registry.registrations",
                                            "outcome",
                                            result.replaced() ? "replaced" : "new")
                                    .increment();
                            LOG.infof(
                                    "registered %s %s/%s/%s as %s%s",
                                    request.kind(),
                                    request.namespace(),
                                    request.podName(),
                                    request.name(),
                                    id,
                                    result.replaced()
                                            ? " (replaced the earlier registration, its token revoked)"
                                            : "");
                            return new Registration(id, token, ttl, result.expiresAt());
                        });
    }

    public Uni<Lease> heartbeat(UUID id, String bearer) {
        if (bearer == null) {
            throw Credentials.unauthenticated(
                    "send the agent's token as 'Authorization: Bearer <token>'");
        }
        byte[] hash = Secrets.sha256(bearer);
        return store.heartbeat(id, hash)
                .flatMap(
                        lease -> {
                            if (lease != null) {
                                meters.counter("flotilla.registry.heartbeats", "outcome", "ok")
                                        .increment();
                                return Uni.createFrom().item(lease);
                            }
                            return store.standing(id, hash)
                                    .map(
                                            standing -> {
                                                meters.counter(
                                                                "flotilla.registry.heartbeats",
                                                                "outcome",
                                                                standing.name().toLowerCase())
                                                        .increment();
                                                throw refusal(id, standing);
                                            });
                        });
    }

    /** Deregisters with the agent's own token or the admin credential. */
    public Uni<Void> deregister(UUID id, String bearer) {
        if (bearer == null) {
            throw Credentials.unauthenticated(
                    "send the agent's token or the admin credential as 'Authorization: Bearer <token>'");
        }
        boolean admin = credentials.isAdmin(bearer);
        byte[] hash = admin ? null : Secrets.sha256(bearer);
        return store.delete(id, hash)
                .flatMap(
                        deleted -> {
                            if (deleted) {
                                LOG.infof("deregistered %s%s", id, admin ? " by admin" : "");
                                return Uni.createFrom().voidItem();
                            }
                            return admin
                                    ? Uni.createFrom().failure(unknown(id))
                                    : store.standing(id, hash)
                                            .map(
                                                    standing -> {
                                                        throw refusal(id, standing);
                                                    });
                        });
    }

    public Uni<Verification> verify(Verification.Request request) {
        if (request == null || request.token() == null || request.token().isBlank()) {
            throw new ProblemException(
                    400, "Invalid request", "token: is required; send {\"token\": \"...\"}");
        }
        return store.findLiveByToken(Secrets.sha256(request.token()))
                .map(agent -> new Verification(agent != null, agent));
    }

    private static ProblemException refusal(UUID id, AgentStore.Standing standing) {
        return switch (standing) {
            case UNKNOWN -> unknown(id);
            case FOREIGN_TOKEN ->
                    new ProblemException(
                            403,
                            "Forbidden",
                            "this token does not belong to registration "
                                    + id
                                    + "; use the token returned when it registered");
            case EXPIRED ->
                    new ProblemException(
                            410,
                            "Registration expired",
                            "registration "
                                    + id
                                    + " expired because no heartbeat arrived within its TTL; its token is revoked."
                                    + " Register again with POST /api/v1/agents");
            // the row changed between the two statements (a concurrent heartbeat or
            // re-registration)
            case LIVE ->
                    new ProblemException(
                            409,
                            "Conflict",
                            "registration " + id + " changed during the request; retry");
        };
    }

    private static ProblemException unknown(UUID id) {
        return new ProblemException(
                404,
                "Unknown registration",
                "no registration "
                        + id
                        + " exists: it was deregistered, replaced by a newer registration of the same pod, or purged after expiry."
                        + " Register again with POST /api/v1/agents");
    }
}
