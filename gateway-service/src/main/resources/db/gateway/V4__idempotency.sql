-- Idempotency-Key per virtual key: the final response of a completed request, replayed to a
-- repeat instead of calling (and paying) the provider again. Rows expire (ttl, 24 h by default).
CREATE TABLE idempotency (
    key_id        uuid        NOT NULL,
    idem_key      text        NOT NULL,
    request_hash  text        NOT NULL,
    status        text        NOT NULL CHECK (status IN ('in_flight', 'done')),
    claimed_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz NOT NULL,
    content_type  text,
    cost_usd      text,
    body          text,
    PRIMARY KEY (key_id, idem_key)
);
CREATE INDEX idempotency_expires ON idempotency (expires_at);
