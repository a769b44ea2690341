package io.flotilla.registry.agent;

import java.time.Instant;
import java.util.UUID;

/** Answer to a heartbeat: the registration's new expiry. */
public record Lease(UUID id, int ttlSeconds, Instant expiresAt) {}
