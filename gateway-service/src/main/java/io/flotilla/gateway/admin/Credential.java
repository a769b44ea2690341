package io.flotilla.gateway.admin;

import io.flotilla.gateway.key.Keys;
import jakarta.ws.rs.core.SecurityContext;
import java.security.Principal;

/**
 * Who called a JAX-RS route of the gateway: the admin (its admin token) or a virtual key. Set by
 * {@link Authentication}; read with {@link #of}.
 *
 * @param key the virtual key; null for the admin
 */
public record Credential(Keys.Caller key) implements Principal {

    static final Credential ADMIN = new Credential(null);

    public boolean admin() {
        return key == null;
    }

    @Override
    public String getName() {
        return admin() ? "admin-token" : "key " + key.keyId();
    }

    static Credential of(SecurityContext security) {
        if (security.getUserPrincipal() instanceof Credential credential) {
            return credential;
        }
        throw new IllegalStateException("no authenticated caller on this request");
    }
}
