package io.flotilla.gateway.governance;

/**
 * The scopes a request is governed by, as the caller names them (Postgres resolves the named
 * scope's ancestors), and the dearest prices of the targets that may serve it. {@code key} tells
 * chains apart for batching and slices.
 */
record ScopeChain(
        String key, String tenant, String[] fixed, String named, double inPrice, double outPrice) {}
