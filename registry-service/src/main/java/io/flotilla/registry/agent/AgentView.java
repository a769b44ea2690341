package io.flotilla.registry.agent;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/** A registration as listed; never carries the token or its hash. */
public record AgentView(
        UUID id,
        String name,
        String kind,
        String namespace,
        String podName,
        String workflow,
        List<String> capabilities,
        Map<String, String> metadata,
        int ttlSeconds,
        Instant registeredAt,
        Instant lastHeartbeatAt,
        Instant expiresAt,
        String status) {}
