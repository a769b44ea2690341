package io.flotilla.registry.agent;

import java.util.List;
import java.util.Map;

/** Body of {@code POST /api/v1/agents}. */
public record RegisterRequest(
        String name,
        String kind,
        String namespace,
        String podName,
        String workflow,
        Integer ttlSeconds,
        List<String> capabilities,
        Map<String, String> metadata) {}
