package io.flotilla.registry.agent;

import java.time.Instant;
import java.util.UUID;

/** Answer to a registration: the token is shown here once and never again. */
public record Registration(UUID id, String token, int ttlSeconds, Instant expiresAt) {}
