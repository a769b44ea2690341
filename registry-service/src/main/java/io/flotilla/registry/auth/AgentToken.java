package io.flotilla.registry.auth;

import java.security.Principal;

/**
 * A registration's own token as a request's principal; the route that accepts it checks it against
 * the registration it acts on. {@link #toString} never shows the token.
 */
public final class AgentToken implements Principal {

    public static final String PREFIX = "flt_agent_";

    private final String token;

    AgentToken(String token) {
        this.token = token;
    }

    public String token() {
        return token;
    }

    @Override
    public String getName() {
        return "agent-token";
    }

    @Override
    public String toString() {
        return "AgentToken["
                + token.substring(0, Math.min(token.length(), PREFIX.length() + 4))
                + "…]";
    }
}
