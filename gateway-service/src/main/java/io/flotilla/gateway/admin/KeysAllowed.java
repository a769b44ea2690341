package io.flotilla.gateway.admin;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * A route a virtual key may call besides the admin (routes without it are the admin's only). The
 * resource then limits the key to its own tenant.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.METHOD)
public @interface KeysAllowed {

    /** Only keys created with {@code runScopes: true}, and only for {@code run:*} scopes. */
    boolean runScopes() default false;
}
