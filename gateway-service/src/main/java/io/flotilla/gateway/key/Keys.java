package io.flotilla.gateway.key;

import io.flotilla.common.problem.ProblemException;
import io.flotilla.common.secret.Secrets;
import io.flotilla.gateway.config.GatewayConfig;
import io.smallrye.mutiny.Uni;
import io.vertx.core.buffer.Buffer;
import io.vertx.mutiny.sqlclient.Pool;
import io.vertx.mutiny.sqlclient.Row;
import io.vertx.mutiny.sqlclient.Tuple;
import jakarta.inject.Singleton;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/** Tenants and their virtual keys. Keys are 256 random bits shown once and stored as SHA-256. */
@Singleton
public class Keys {

    private static final String PREFIX = "flt_";

    private static final int CACHE_LIMIT = 10_000;

    private final Pool pool;
    private final long cacheNanos;

    /** Live keys seen recently, by hash: a read cache only, bounded in size and age. */
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();

    private record Cached(Caller caller, long until) {}

    Keys(Pool pool, GatewayConfig config) {
        this.pool = pool;
        this.cacheNanos = config.keyCacheTtl().toNanos();
    }

    /**
     * The caller behind a virtual key; {@code runScopes}: it may also open and read its tenant's
     * {@code run:*} budget scopes.
     */
    public record Caller(UUID keyId, String tenant, List<String> allowedModels, boolean runScopes) {

        /** Whether the key may call this alias ({@code *} allows every alias). */
        public boolean allows(String alias) {
            return allowedModels.contains("*") || allowedModels.contains(alias);
        }
    }

    public record Tenant(String id, String displayName, Instant createdAt) {}

    public record KeyView(
            UUID id,
            String tenant,
            String name,
            String prefix,
            List<String> allowedModels,
            boolean runScopes,
            Instant createdAt,
            Instant revokedAt) {}

    /** A new key: {@code key} is shown this once. */
    public record NewKey(
            UUID id,
            String tenant,
            String name,
            String key,
            String prefix,
            List<String> allowedModels,
            boolean runScopes) {}

    /**
     * The live key with this secret, or null. Live keys are cached for {@code key-cache-ttl}: a key
     * revoked on this replica stops at once, on other replicas within that time.
     */
    public Uni<Caller> authenticate(String secret) {
        byte[] hash = Secrets.sha256(secret);
        String cacheKey = HexFormat.of().formatHex(hash);
        Cached cached = cache.get(cacheKey);
        if (cached != null && cached.until() - System.nanoTime() > 0) {
            return Uni.createFrom().item(cached.caller());
        }
        return pool.preparedQuery(
                        "SELECT id, tenant_id, allowed_models, run_scopes FROM gateway.api_keys WHERE key_hash = $1 AND revoked_at IS NULL")
                .execute(Tuple.of(Buffer.buffer(hash)))
                .map(
                        rows -> {
                            if (rows.rowCount() == 0) {
                                cache.remove(cacheKey);
                                return null;
                            }
                            Row row = rows.iterator().next();
                            Caller caller =
                                    new Caller(
                                            row.getUUID("id"),
                                            row.getString("tenant_id"),
                                            Arrays.asList(row.getArrayOfStrings("allowed_models")),
                                            row.getBoolean("run_scopes"));
                            if (cacheNanos > 0) {
                                if (cache.size() >= CACHE_LIMIT) {
                                    cache.clear();
                                }
                                cache.put(
                                        cacheKey,
                                        new Cached(caller, System.nanoTime() + cacheNanos));
                            }
                            return caller;
                        });
    }

    public Uni<Tenant> createTenant(String id, String displayName) {
        return pool.preparedQuery(
                        """
                INSERT INTO gateway.tenants (id, display_name) VALUES ($1, $2)
                ON CONFLICT (id) DO NOTHING RETURNING created_at""")
                .execute(Tuple.of(id, displayName))
                .map(
                        rows -> {
                            if (rows.rowCount() == 0) {
                                throw new ProblemException(
                                        409,
                                        "Tenant exists",
                                        "tenant '" + id + "' already exists; choose another id");
                            }
                            return new Tenant(
                                    id,
                                    displayName,
                                    rows.iterator()
                                            .next()
                                            .getOffsetDateTime("created_at")
                                            .toInstant());
                        });
    }

    public Uni<List<Tenant>> tenants() {
        return pool.query("SELECT id, display_name, created_at FROM gateway.tenants ORDER BY id")
                .execute()
                .map(
                        rows -> {
                            List<Tenant> out = new ArrayList<>();
                            rows.forEach(
                                    r ->
                                            out.add(
                                                    new Tenant(
                                                            r.getString("id"),
                                                            r.getString("display_name"),
                                                            r.getOffsetDateTime("created_at")
                                                                    .toInstant())));
                            return out;
                        });
    }

    /** Deletes a tenant and, with it, all its keys. */
    public Uni<Boolean> deleteTenant(String id) {
        cache.values().removeIf(c -> c.caller().tenant().equals(id));
        return pool.preparedQuery("DELETE FROM gateway.tenants WHERE id = $1")
                .execute(Tuple.of(id))
                .map(r -> r.rowCount() > 0);
    }

    public Uni<NewKey> createKey(
            String tenant, String name, List<String> allowedModels, boolean runScopes) {
        String secret = Secrets.newToken(PREFIX);
        String prefix = secret.substring(0, 10);
        UUID id = UUID.randomUUID();
        return pool.preparedQuery(
                        """
                INSERT INTO gateway.api_keys (id, tenant_id, name, key_hash, key_prefix, allowed_models, run_scopes)
                SELECT $1, $2, $3, $4, $5, $6, $7 WHERE EXISTS (SELECT 1 FROM gateway.tenants WHERE id = $2)""")
                .execute(
                        Tuple.tuple(
                                List.<Object>of(
                                        id,
                                        tenant,
                                        name,
                                        Buffer.buffer(Secrets.sha256(secret)),
                                        prefix,
                                        allowedModels.toArray(new String[0]),
                                        runScopes)))
                .map(
                        rows -> {
                            if (rows.rowCount() == 0) {
                                throw new ProblemException(
                                        404,
                                        "Unknown tenant",
                                        "tenant '" + tenant + "' does not exist; create it first");
                            }
                            return new NewKey(
                                    id, tenant, name, secret, prefix, allowedModels, runScopes);
                        });
    }

    public Uni<List<KeyView>> keys(String tenant) {
        return pool.preparedQuery(
                        """
                SELECT id, tenant_id, name, key_prefix, allowed_models, run_scopes, created_at, revoked_at
                  FROM gateway.api_keys WHERE tenant_id = $1 ORDER BY created_at""")
                .execute(Tuple.of(tenant))
                .map(
                        rows -> {
                            List<KeyView> out = new ArrayList<>();
                            rows.forEach(
                                    r ->
                                            out.add(
                                                    new KeyView(
                                                            r.getUUID("id"),
                                                            r.getString("tenant_id"),
                                                            r.getString("name"),
                                                            r.getString("key_prefix"),
                                                            Arrays.asList(
                                                                    r.getArrayOfStrings(
                                                                            "allowed_models")),
                                                            r.getBoolean("run_scopes"),
                                                            r.getOffsetDateTime("created_at")
                                                                    .toInstant(),
                                                            r.getOffsetDateTime("revoked_at")
                                                                            == null
                                                                    ? null
                                                                    : r.getOffsetDateTime(
                                                                                    "revoked_at")
                                                                            .toInstant())));
                            return out;
                        });
    }

    /** Revokes a key; false when there is no such live key. */
    public Uni<Boolean> revoke(UUID id) {
        cache.values().removeIf(c -> c.caller().keyId().equals(id));
        return pool.preparedQuery(
                        "UPDATE gateway.api_keys SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL")
                .execute(Tuple.of(id))
                .map(r -> r.rowCount() > 0);
    }
}
