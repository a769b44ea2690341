package io.flotilla.registry.auth;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/** The credentials a route accepts; a route without it is the admin's only. */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface Accepts {

    Kind[] value();

    /** What a bearer token is. */
    enum Kind {
        /** The registry's admin token, or a Kubernetes identity configured as admin. */
        ADMIN,
        /** A ServiceAccount token the Kubernetes API server vouches for (TokenReview). */
        SERVICE_ACCOUNT,
        /** A registration's own token ({@code flt_agent_…}), checked by the route against it. */
        AGENT
    }
}
