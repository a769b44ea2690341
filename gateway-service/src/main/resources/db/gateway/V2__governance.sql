-- Governance: every limit lives in these rows, so any number of gateway replicas enforce one truth.
-- A scope is a named account of tokens, cost and request rates: tenant:<id>, key:<uuid>,
-- model:<tenant>/<alias>, or any named scope a caller selects (run:<id>, workflow:<ns>/<name>, ...).
CREATE TABLE scopes (
    scope                text        PRIMARY KEY,
    tenant_id            text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    parent               text        REFERENCES scopes (scope) ON DELETE SET NULL,
    max_tokens           bigint      CHECK (max_tokens >= 0),
    max_cost_micros      bigint      CHECK (max_cost_micros >= 0),
    reset_period         text        NOT NULL DEFAULT 'none' CHECK (reset_period IN ('none', 'daily', 'monthly')),
    period_start         timestamptz NOT NULL DEFAULT now(),
    used_tokens          bigint      NOT NULL DEFAULT 0,
    used_cost_micros     bigint      NOT NULL DEFAULT 0,
    reserved_tokens      bigint      NOT NULL DEFAULT 0,
    reserved_cost_micros bigint      NOT NULL DEFAULT 0,
    rpm                  integer     CHECK (rpm > 0),
    tpm                  integer     CHECK (tpm > 0),
    paused               boolean     NOT NULL DEFAULT false,
    created_at           timestamptz NOT NULL DEFAULT now()
);

-- Per-minute counters for the sliding-window rate limits (see docs/governance.md).
CREATE TABLE rate_windows (
    scope    text        NOT NULL REFERENCES scopes (scope) ON DELETE CASCADE,
    minute   timestamptz NOT NULL,
    requests integer     NOT NULL DEFAULT 0,
    tokens   bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, minute)
);

-- Open reservations: what a request in flight holds, released or charged when it settles.
CREATE TABLE reservations (
    id          uuid        PRIMARY KEY,
    scopes      text[]      NOT NULL,
    tokens      bigint      NOT NULL,
    cost_micros bigint      NOT NULL,
    minute      timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
CREATE INDEX reservations_expiry ON reservations (expires_at);

-- One row per request, written in batches off the request path.
CREATE TABLE ledger (
    id            uuid        PRIMARY KEY,
    at            timestamptz NOT NULL,
    tenant_id     text        NOT NULL,
    key_id        uuid        NOT NULL,
    scopes        text[]      NOT NULL,
    alias         text        NOT NULL,
    provider      text,
    model         text,
    input_tokens  bigint      NOT NULL,
    output_tokens bigint      NOT NULL,
    cost_micros   bigint      NOT NULL,
    latency_ms    integer     NOT NULL,
    status        integer     NOT NULL,
    stream        boolean     NOT NULL
);
CREATE INDEX ledger_tenant_at ON ledger (tenant_id, at);
CREATE INDEX ledger_scopes ON ledger USING gin (scopes);

-- Moves a scope into its current reset period (budgets that reset daily or monthly).
CREATE FUNCTION roll_period(s scopes) RETURNS timestamptz LANGUAGE sql STABLE AS $$
    SELECT CASE s.reset_period
               WHEN 'daily' THEN date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
               WHEN 'monthly' THEN date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
               ELSE s.period_start END
$$;

-- Reserves prompt + completion tokens (and their cost) against every scope of the chain at once:
-- the fixed scopes (key, tenant, model) that exist, plus the named scope and its ancestors.
-- Rows are locked in scope order, so concurrent reservations serialise per scope and never
-- deadlock. Completion tokens are lowered (clamped) to what every scope can still pay for, down to
-- p_min_completion; below that the request is refused, naming the scope and the reason.
CREATE FUNCTION reserve(p_id uuid, p_tenant text, p_fixed text[], p_named text, p_prompt bigint, p_completion bigint,
                        p_min_completion bigint, p_in_price double precision, p_out_price double precision, p_ttl_seconds integer)
RETURNS TABLE (ok boolean, refused_scope text, reason text, granted bigint, retry_after integer,
               limit_requests integer, remaining_requests integer, limit_tokens integer, remaining_tokens integer,
               period_ends timestamptz)
LANGUAGE plpgsql SET search_path = gateway, pg_temp AS $$
DECLARE
    chain text[] := ARRAY(SELECT s.scope FROM scopes s WHERE s.scope = ANY (p_fixed));
    s scopes;
    c bigint := p_completion;
    v_minute timestamptz := date_trunc('minute', now());
    frac double precision := extract(epoch FROM now() - date_trunc('minute', now())) / 60.0;
    prev_r double precision; prev_t double precision; cur_r integer; cur_t bigint;
    used_r double precision; used_t double precision; avail bigint; cap bigint;
    lim_r integer; rem_r integer; lim_t integer; rem_t integer;
    named_tenant text;
BEGIN
    IF p_named IS NOT NULL THEN
        SELECT x.tenant_id INTO named_tenant FROM scopes x WHERE x.scope = p_named;
        IF NOT FOUND THEN
            RETURN QUERY SELECT false, p_named, 'unknown_scope', 0::bigint, 0, NULL::int, NULL::int, NULL::int, NULL::int, NULL::timestamptz;
            RETURN;
        END IF;
        IF named_tenant <> p_tenant THEN
            RETURN QUERY SELECT false, p_named, 'foreign_scope', 0::bigint, 0, NULL::int, NULL::int, NULL::int, NULL::int, NULL::timestamptz;
            RETURN;
        END IF;
        chain := chain || ARRAY(
            WITH RECURSIVE up(scope, parent, depth) AS (
                SELECT x.scope, x.parent, 0 FROM scopes x WHERE x.scope = p_named
                UNION ALL
                SELECT x.scope, x.parent, up.depth + 1 FROM scopes x JOIN up ON x.scope = up.parent WHERE up.depth < 16)
            SELECT up.scope FROM up);
    END IF;
    IF cardinality(chain) = 0 THEN
        RETURN QUERY SELECT true, NULL::text, NULL::text, c, 0, NULL::int, NULL::int, NULL::int, NULL::int, NULL::timestamptz;
        RETURN;
    END IF;

    FOR s IN SELECT * FROM scopes x WHERE x.scope = ANY (chain) ORDER BY x.scope FOR UPDATE LOOP
        IF s.reset_period <> 'none' AND roll_period(s) > s.period_start THEN
            UPDATE scopes x SET used_tokens = 0, used_cost_micros = 0, period_start = roll_period(s) WHERE x.scope = s.scope
            RETURNING * INTO s;
        END IF;
        IF s.paused THEN
            RETURN QUERY SELECT false, s.scope, 'paused', 0::bigint, 0, NULL::int, NULL::int, NULL::int, NULL::int, NULL::timestamptz;
            RETURN;
        END IF;
        IF s.rpm IS NOT NULL OR s.tpm IS NOT NULL THEN
            SELECT coalesce(sum(w.requests) FILTER (WHERE w.minute = v_minute - interval '1 minute'), 0),
                   coalesce(sum(w.tokens) FILTER (WHERE w.minute = v_minute - interval '1 minute'), 0),
                   coalesce(sum(w.requests) FILTER (WHERE w.minute = v_minute), 0),
                   coalesce(sum(w.tokens) FILTER (WHERE w.minute = v_minute), 0)
              INTO prev_r, prev_t, cur_r, cur_t
              FROM rate_windows w WHERE w.scope = s.scope AND w.minute >= v_minute - interval '1 minute';
            used_r := prev_r * (1 - frac) + cur_r;
            used_t := prev_t * (1 - frac) + cur_t;
            IF s.rpm IS NOT NULL THEN
                IF used_r + 1 > s.rpm THEN
                    RETURN QUERY SELECT false, s.scope, 'rpm', 0::bigint, greatest(1, ceil(60 * (1 - frac))::int),
                        s.rpm, 0, s.tpm, NULL::int, NULL::timestamptz;
                    RETURN;
                END IF;
                IF rem_r IS NULL OR s.rpm - ceil(used_r + 1)::int < rem_r THEN
                    lim_r := s.rpm; rem_r := greatest(0, s.rpm - ceil(used_r + 1)::int);
                END IF;
            END IF;
            IF s.tpm IS NOT NULL THEN
                cap := floor(s.tpm - used_t - p_prompt)::bigint;
                IF cap < least(c, p_min_completion) THEN
                    RETURN QUERY SELECT false, s.scope, 'tpm', 0::bigint, greatest(1, ceil(60 * (1 - frac))::int),
                        s.rpm, NULL::int, s.tpm, greatest(0, floor(s.tpm - used_t)::int), NULL::timestamptz;
                    RETURN;
                END IF;
                c := least(c, cap);
            END IF;
        END IF;
        IF s.max_tokens IS NOT NULL THEN
            avail := s.max_tokens - s.used_tokens - s.reserved_tokens - p_prompt;
            IF avail < least(c, p_min_completion) THEN
                RETURN QUERY SELECT false, s.scope, 'budget_tokens', 0::bigint, 0, NULL::int, NULL::int, NULL::int, NULL::int,
                    CASE s.reset_period WHEN 'daily' THEN s.period_start + interval '1 day'
                                        WHEN 'monthly' THEN s.period_start + interval '1 month' END;
                RETURN;
            END IF;
            c := least(c, avail);
        END IF;
        IF s.max_cost_micros IS NOT NULL THEN
            avail := floor((s.max_cost_micros - s.used_cost_micros - s.reserved_cost_micros - p_prompt * p_in_price)
                           / greatest(p_out_price, 1e-9))::bigint;
            IF avail < least(c, p_min_completion) THEN
                RETURN QUERY SELECT false, s.scope, 'budget_cost', 0::bigint, 0, NULL::int, NULL::int, NULL::int, NULL::int,
                    CASE s.reset_period WHEN 'daily' THEN s.period_start + interval '1 day'
                                        WHEN 'monthly' THEN s.period_start + interval '1 month' END;
                RETURN;
            END IF;
            c := least(c, avail);
        END IF;
        IF s.tpm IS NOT NULL AND (rem_t IS NULL OR floor(s.tpm - used_t)::int - (p_prompt + c)::int < rem_t) THEN
            lim_t := s.tpm; rem_t := greatest(0, floor(s.tpm - used_t)::int - (p_prompt + c)::int);
        END IF;
    END LOOP;

    UPDATE scopes x SET reserved_tokens = x.reserved_tokens + p_prompt + c,
                        reserved_cost_micros = x.reserved_cost_micros + ceil(p_prompt * p_in_price + c * p_out_price)::bigint
     WHERE x.scope = ANY (chain);
    INSERT INTO rate_windows (scope, minute, requests, tokens)
    SELECT x.scope, v_minute, 1, p_prompt + c FROM scopes x WHERE x.scope = ANY (chain) AND (x.rpm IS NOT NULL OR x.tpm IS NOT NULL)
    ON CONFLICT (scope, minute) DO UPDATE SET requests = rate_windows.requests + 1, tokens = rate_windows.tokens + EXCLUDED.tokens;
    INSERT INTO reservations (id, scopes, tokens, cost_micros, minute, expires_at)
    VALUES (p_id, chain, p_prompt + c, ceil(p_prompt * p_in_price + c * p_out_price)::bigint, v_minute, now() + make_interval(secs => p_ttl_seconds));
    RETURN QUERY SELECT true, NULL::text, NULL::text, c, 0, lim_r, rem_r, lim_t, rem_t, NULL::timestamptz;
END;
$$;

-- Charges what a request really used and releases the rest of its reservation. Idempotent: a
-- reservation settles once (a second call finds nothing).
CREATE FUNCTION settle(p_id uuid, p_tokens bigint, p_cost_micros bigint) RETURNS boolean
LANGUAGE plpgsql SET search_path = gateway, pg_temp AS $$
DECLARE
    r reservations;
BEGIN
    DELETE FROM reservations x WHERE x.id = p_id RETURNING * INTO r;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM 1 FROM scopes x WHERE x.scope = ANY (r.scopes) ORDER BY x.scope FOR UPDATE;
    UPDATE scopes x SET reserved_tokens = greatest(0, x.reserved_tokens - r.tokens),
                        reserved_cost_micros = greatest(0, x.reserved_cost_micros - r.cost_micros),
                        used_tokens = x.used_tokens + p_tokens,
                        used_cost_micros = x.used_cost_micros + p_cost_micros
     WHERE x.scope = ANY (r.scopes);
    UPDATE rate_windows w SET tokens = greatest(0, w.tokens - r.tokens + p_tokens)
     WHERE w.scope = ANY (r.scopes) AND w.minute = r.minute;
    RETURN true;
END;
$$;

-- Reservations of replicas that died mid-request: charged in full (the provider may have billed them).
CREATE FUNCTION expire_reservations() RETURNS integer LANGUAGE plpgsql SET search_path = gateway, pg_temp AS $$
DECLARE
    r reservations;
    n integer := 0;
BEGIN
    FOR r IN SELECT * FROM reservations x WHERE x.expires_at < now() ORDER BY x.id FOR UPDATE SKIP LOCKED LOOP
        PERFORM settle(r.id, r.tokens, r.cost_micros);
        n := n + 1;
    END LOOP;
    DELETE FROM rate_windows w WHERE w.minute < date_trunc('minute', now()) - interval '2 minutes';
    RETURN n;
END;
$$;
