package io.flotilla.registry.agent;

import io.flotilla.common.auth.Caller;
import io.flotilla.common.problem.ProblemException;
import io.flotilla.common.secret.Secrets;
import io.flotilla.registry.auth.AgentToken;
import io.flotilla.registry.config.RegistryConfig;
import io.micrometer.core.instrument.MeterRegistry;
import io.smallrye.mutiny.Uni;
import jakarta.enterprise.context.ApplicationScoped;
import java.security.Principal;
import java.util.UUID;
import org.jboss.logging.Logger;

/** Registration lifecycle: register (or replace), heartbeat, deregister, verify. */
@ApplicationScoped
public class AgentService {

    private static final Logger LOG = Logger.getLogger(AgentService.class);
    private static final java.util.regex.Pattern TOKEN =
            java.util.regex.Pattern.compile(AgentToken.PREFIX + "[A-Za-z0-9_-]{1,200}");

    private final AgentStore store;
    private final RegisterValidator validator;
    private final RegistryConfig config;
    private final MeterRegistry meters;

    AgentService(
            AgentStore store,
            RegisterValidator validator,
            RegistryConfig config,
            MeterRegistry meters) {
        this.store = store;
        this.validator = validator;
        this.config = config;
        this.meters = meters;
    }

    /**
     * Registers for {@code who}: the admin registers anything; a ServiceAccount only in its own
     * namespace, replacing a live registration only with a token bound to that pod; a
     * registration's own token only renews that registration.
     */
    public Uni<Registration> register(RegisterRequest request, Principal who) {
        int ttl = validator.validate(request);
        AgentStore.Claim claim;
        if (who instanceof Caller caller) {
            caller.require(request.namespace());
            claim =
                    new AgentStore.Claim(
                            caller.admin() || request.podName().equals(caller.pod()),
                            null,
                            config.maxPerNamespace());
        } else if (who instanceof AgentToken agent) {
            claim =
                    new AgentStore.Claim(
                            false, Secrets.sha256(agent.token()), config.maxPerNamespace());
        } else {
            throw new IllegalStateException("unexpected principal " + who);
        }
        UUID id = UUID.randomUUID();
        String token = Secrets.newToken(AgentToken.PREFIX);
        return store.upsert(id, request, ttl, Secrets.sha256(token), claim)
                .onItem()
                .ifNull()
                .switchTo(() -> refused(request, claim))
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

    /** Why an upsert was refused, as the problem to answer. */
    private Uni<AgentStore.Upserted> refused(RegisterRequest r, AgentStore.Claim claim) {
        String identity = r.namespace() + "/" + r.podName() + "/" + r.name();
        return store.liveIdentity(r.namespace(), r.podName(), r.name())
                .map(
                        live -> {
                            if (live) {
                                throw new ProblemException(
                                        409,
                                        "Registration exists",
                                        "a live registration of "
                                                + identity
                                                + " exists; replace it with its own token, a ServiceAccount token bound to pod "
                                                + r.podName()
                                                + ", or the admin credential, or wait until it expires");
                            }
                            if (claim.agentTokenHash() != null) {
                                throw new ProblemException(
                                        403,
                                        "Forbidden",
                                        "this token does not hold a live registration of "
                                                + identity
                                                + "; register with a ServiceAccount token of "
                                                + r.namespace());
                            }
                            throw new ProblemException(
                                    429,
                                    "Too many registrations",
                                    "namespace "
                                            + r.namespace()
                                            + " holds the most live registrations allowed (flotilla.registry.max-per-namespace = "
                                            + config.maxPerNamespace()
                                            + "); deregister some or wait for them to expire");
                        });
    }

    public Uni<Lease> heartbeat(UUID id, String bearer) {
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
    public Uni<Void> deregister(UUID id, Principal who) {
        boolean admin = who instanceof Caller caller && caller.admin();
        byte[] hash = admin ? null : Secrets.sha256(((AgentToken) who).token());
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
        if (!TOKEN.matcher(request.token()).matches()) {
            throw new ProblemException(
                    400,
                    "Invalid request",
                    "token: not a registration token (flt_agent_ followed by up to 200 letters, digits, '-' or '_')");
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
