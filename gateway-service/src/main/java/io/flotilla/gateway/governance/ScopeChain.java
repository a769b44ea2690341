package io.flotilla.gateway.governance;

import java.util.UUID;

/**
 * The scopes a request is governed by, as the caller names them (Postgres resolves the named
 * scope's ancestors), and the dearest prices of the targets that may serve it. {@code key} tells
 * chains apart for batching and slices (cheap to hash: no string is built for it).
 */
record ScopeChain(Key key, String tenant, String[] fixed) {

    /** What makes two requests' chains the same: the key, the alias, the named scope, prices. */
    record Key(UUID keyId, String alias, String named, double inPrice, double outPrice) {}

    String named() {
        return key.named();
    }

    double inPrice() {
        return key.inPrice();
    }

    double outPrice() {
        return key.outPrice();
    }
}
