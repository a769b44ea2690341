package io.flotilla.registry.agent;

import com.fasterxml.jackson.annotation.JsonInclude;

/** Answer of {@code POST /api/v1/tokens/verify}; {@code agent} only when the token is live. */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Verification(boolean valid, AgentView agent) {

    public record Request(String token) {}
}
