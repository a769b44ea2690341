-- One row per live or recently expired agent identity (namespace, pod, name).
-- Truth about liveness is expires_at compared with the database clock: a token stops verifying
-- the instant its registration lapses, whatever the sweeper has done. The sweeper only marks
-- rows as expired (for metrics) and purges them after a grace period.
CREATE TABLE agents (
    id                uuid        PRIMARY KEY,
    name              text        NOT NULL,
    kind              text        NOT NULL,
    namespace         text        NOT NULL,
    pod_name          text        NOT NULL,
    workflow          text,
    capabilities      jsonb       NOT NULL DEFAULT '[]',
    metadata          jsonb       NOT NULL DEFAULT '{}',
    token_hash        bytea       NOT NULL,
    ttl_seconds       integer     NOT NULL CHECK (ttl_seconds > 0),
    registered_at     timestamptz NOT NULL,
    last_heartbeat_at timestamptz NOT NULL,
    expires_at        timestamptz NOT NULL,
    expiry_counted    boolean     NOT NULL DEFAULT false,
    CONSTRAINT agents_identity UNIQUE (namespace, pod_name, name),
    CONSTRAINT agents_token UNIQUE (token_hash)
);

CREATE INDEX agents_expires_at ON agents (expires_at);
CREATE INDEX agents_uncounted_expiry ON agents (expires_at) WHERE NOT expiry_counted;
