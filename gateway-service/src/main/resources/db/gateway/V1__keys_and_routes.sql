CREATE TABLE tenants (
    id           text        PRIMARY KEY,
    display_name text,
    created_at   timestamptz NOT NULL DEFAULT now()
);

-- Virtual keys: only the SHA-256 of the key is stored; the prefix helps people tell keys apart.
CREATE TABLE api_keys (
    id             uuid        PRIMARY KEY,
    tenant_id      text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name           text        NOT NULL,
    key_hash       bytea       NOT NULL UNIQUE,
    key_prefix     text        NOT NULL,
    allowed_models text[]      NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    revoked_at     timestamptz
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id);

-- Routes set through the admin API; they overlay the routes file on every replica.
CREATE TABLE routes (
    alias      text        PRIMARY KEY,
    spec       jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
