-- A run is pinned to the revision it started on; every step transition is a row change here.
CREATE TABLE runs (
    id              uuid        PRIMARY KEY,
    namespace       text        NOT NULL,
    workflow        text        NOT NULL,
    revision        text        NOT NULL,
    input           jsonb       NOT NULL,
    status          text        NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    reason          text,
    output          jsonb,
    budget          jsonb,
    idempotency_key text        UNIQUE,
    trace_parent    text,                                  -- W3C traceparent of the run span; step spans are its children
    request_hash    text,
    tokens          bigint      NOT NULL DEFAULT 0,
    cost_usd        numeric(18, 6) NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    FOREIGN KEY (namespace, workflow, revision) REFERENCES workflow_revisions (namespace, name, revision)
);
CREATE INDEX runs_by_workflow ON runs (namespace, workflow, created_at DESC);
CREATE INDEX runs_by_status ON runs (status, created_at DESC);

-- One row per step of a run (item = -1), plus one per foreach element (item = 0..n-1).
-- status: waiting (needs not met) | ready | running (leased) | fanout (foreach parent, children at work)
--         | succeeded | failed | skipped | cancelled
CREATE TABLE steps (
    run_id           uuid        NOT NULL REFERENCES runs ON DELETE CASCADE,
    step_id          text        NOT NULL,
    item             integer     NOT NULL DEFAULT -1,
    status           text        NOT NULL,
    item_value       jsonb,
    iteration        integer     NOT NULL DEFAULT 0,
    attempt          integer     NOT NULL DEFAULT 0,   -- executions so far; part of the idempotency key
    failures         integer     NOT NULL DEFAULT 0,   -- failed attempts in this iteration
    epoch            bigint      NOT NULL DEFAULT 0,   -- fencing: bumped at every claim
    lease_owner      text,
    lease_expires_at timestamptz,
    not_before       timestamptz,
    ready_at         timestamptz,
    started_at       timestamptz,
    finished_at      timestamptz,
    output           jsonb,
    tokens           bigint      NOT NULL DEFAULT 0,
    cost_usd         numeric(18, 6) NOT NULL DEFAULT 0,
    error            text,
    PRIMARY KEY (run_id, step_id, item)
);
CREATE INDEX steps_ready ON steps (ready_at) WHERE status = 'ready';
CREATE INDEX steps_leased ON steps (lease_expires_at) WHERE status = 'running';

-- Progress, for GET /runs/{id}/events (SSE) and for the record.
CREATE TABLE events (
    id      bigserial   PRIMARY KEY,
    run_id  uuid        NOT NULL REFERENCES runs ON DELETE CASCADE,
    at      timestamptz NOT NULL DEFAULT now(),
    type    text        NOT NULL,
    step_id text,
    item    integer,
    data    jsonb
);
CREATE INDEX events_by_run ON events (run_id, id);
