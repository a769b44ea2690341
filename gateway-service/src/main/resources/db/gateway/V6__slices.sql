-- No query reads the ledger by scope through this index (the usage API filters by tenant and
-- time), and it cost every one of the ledger's inserts.
DROP INDEX ledger_scopes;

-- The sliding-window load of a scope (docs/governance.md "Rate-limit windows"): the previous minute
-- weighted by what is left of it, plus the current minute. Used by reserve() and lease().
CREATE FUNCTION window_load(p_scope text, p_minute timestamptz, p_frac double precision,
                            OUT requests double precision, OUT tokens double precision)
LANGUAGE sql STABLE SET search_path = gateway, pg_temp AS $$
    SELECT coalesce(sum(w.requests) FILTER (WHERE w.minute = p_minute - interval '1 minute'), 0)::double precision
               * (1 - p_frac) + coalesce(sum(w.requests) FILTER (WHERE w.minute = p_minute), 0)::double precision,
           coalesce(sum(w.tokens) FILTER (WHERE w.minute = p_minute - interval '1 minute'), 0)::double precision
               * (1 - p_frac) + coalesce(sum(w.tokens) FILTER (WHERE w.minute = p_minute), 0)::double precision
      FROM rate_windows w WHERE w.scope = p_scope AND w.minute >= p_minute - interval '1 minute'
$$;

-- A locked scope moved into its current reset period (daily, monthly): usage starts again at zero.
CREATE FUNCTION rolled(s scopes) RETURNS scopes
LANGUAGE plpgsql SET search_path = gateway, pg_temp AS $$
BEGIN
    IF s.reset_period <> 'none' AND roll_period(s) > s.period_start THEN
        UPDATE scopes x SET used_tokens = 0, used_cost_micros = 0, period_start = roll_period(s) WHERE x.scope = s.scope
        RETURNING * INTO s;
    END IF;
    RETURN s;
END;
$$;

-- reserve() as in V2 (its period roll and window load now from rolled() and window_load()), except
-- that a cost budget over free targets (price 0) no longer overflows bigint: every such request
-- failed with "bigint out of range".
CREATE OR REPLACE FUNCTION reserve(p_id uuid, p_tenant text, p_fixed text[], p_named text, p_prompt bigint, p_completion bigint,
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
        s := rolled(s);
        IF s.paused THEN
            RETURN QUERY SELECT false, s.scope, 'paused', 0::bigint, 0, NULL::int, NULL::int, NULL::int, NULL::int, NULL::timestamptz;
            RETURN;
        END IF;
        IF s.rpm IS NOT NULL OR s.tpm IS NOT NULL THEN
            SELECT l.requests, l.tokens INTO used_r, used_t FROM window_load(s.scope, v_minute, frac) l;
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
            -- least(): with free targets (price 0) the quotient is astronomically large, not an error
            avail := floor(least(9e18, (s.max_cost_micros - s.used_cost_micros - s.reserved_cost_micros - p_prompt * p_in_price)
                                       / greatest(p_out_price, 1e-9)))::bigint;
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


-- Slices (docs/governance.md "Slices"): a replica leases a share of a scope chain's remaining budget
-- and rate, held as one reservation row, and admits requests within it in memory. The row is charged
-- and released when the slice is returned; a replica that dies holding one leaves it to
-- expire_reservations(), which charges it in full like any reservation.

-- The scopes a request is checked against: the fixed scopes that exist, plus the named scope and its
-- ancestors. NULL when the named scope does not exist or belongs to another tenant.
CREATE FUNCTION chain_of(p_tenant text, p_fixed text[], p_named text) RETURNS text[]
LANGUAGE plpgsql STABLE SET search_path = gateway, pg_temp AS $$
DECLARE
    chain text[] := ARRAY(SELECT s.scope FROM scopes s WHERE s.scope = ANY (p_fixed));
BEGIN
    IF p_named IS NULL THEN
        RETURN chain;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM scopes x WHERE x.scope = p_named AND x.tenant_id = p_tenant) THEN
        RETURN NULL;
    END IF;
    RETURN chain || ARRAY(
        WITH RECURSIVE up(scope, parent, depth) AS (
            SELECT x.scope, x.parent, 0 FROM scopes x WHERE x.scope = p_named
            UNION ALL
            SELECT x.scope, x.parent, up.depth + 1 FROM scopes x JOIN up ON x.scope = up.parent WHERE up.depth < 16)
        SELECT up.scope FROM up);
END;
$$;

-- Leases up to p_tokens tokens (charged at p_price micro-USD each, the dearest input or output price)
-- and p_requests requests, but never more than p_fraction of any scope's remaining token budget, cost
-- budget, requests or tokens of the current minute. Not ok (the caller then reserves request by
-- request, which names the reason of a refusal) when a scope is paused, the named scope is unknown
-- or foreign, or the share is under p_min_tokens tokens or 2 requests: near a limit the last of it
-- goes request by request, exactly.
CREATE FUNCTION lease(p_id uuid, p_tenant text, p_fixed text[], p_named text, p_tokens bigint, p_requests integer,
                      p_min_tokens bigint, p_fraction double precision, p_price double precision, p_ttl_seconds integer)
RETURNS TABLE (ok boolean, chain text[], tokens bigint, cost_micros bigint, requests integer,
               limit_requests integer, remaining_requests integer, limit_tokens integer, remaining_tokens integer)
LANGUAGE plpgsql SET search_path = gateway, pg_temp AS $$
DECLARE
    c text[] := chain_of(p_tenant, p_fixed, p_named);
    s scopes;
    t bigint := p_tokens;
    r integer := p_requests;
    v_minute timestamptz := date_trunc('minute', now());
    frac double precision := extract(epoch FROM now() - date_trunc('minute', now())) / 60.0;
    used_r double precision; used_t double precision;
    lim_r integer; rem_r integer; lim_t integer; rem_t integer;
BEGIN
    IF c IS NULL THEN
        RETURN QUERY SELECT false, NULL::text[], 0::bigint, 0::bigint, 0, NULL::int, NULL::int, NULL::int, NULL::int;
        RETURN;
    END IF;
    FOR s IN SELECT * FROM scopes x WHERE x.scope = ANY (c) ORDER BY x.scope FOR UPDATE LOOP
        s := rolled(s);
        IF s.paused THEN
            RETURN QUERY SELECT false, c, 0::bigint, 0::bigint, 0, NULL::int, NULL::int, NULL::int, NULL::int;
            RETURN;
        END IF;
        IF s.rpm IS NOT NULL OR s.tpm IS NOT NULL THEN
            SELECT l.requests, l.tokens INTO used_r, used_t FROM window_load(s.scope, v_minute, frac) l;
            IF s.rpm IS NOT NULL THEN
                r := least(r, floor((s.rpm - used_r) * p_fraction)::int);
                IF rem_r IS NULL OR floor(s.rpm - used_r)::int < rem_r THEN
                    lim_r := s.rpm; rem_r := greatest(0, floor(s.rpm - used_r)::int);
                END IF;
            END IF;
            IF s.tpm IS NOT NULL THEN
                t := least(t, floor((s.tpm - used_t) * p_fraction)::bigint);
                IF rem_t IS NULL OR floor(s.tpm - used_t)::int < rem_t THEN
                    lim_t := s.tpm; rem_t := greatest(0, floor(s.tpm - used_t)::int);
                END IF;
            END IF;
        END IF;
        IF s.max_tokens IS NOT NULL THEN
            t := least(t, floor((s.max_tokens - s.used_tokens - s.reserved_tokens) * p_fraction)::bigint);
        END IF;
        IF s.max_cost_micros IS NOT NULL THEN
            t := least(t, floor(least(9e18, (s.max_cost_micros - s.used_cost_micros - s.reserved_cost_micros) * p_fraction
                                            / greatest(p_price, 1e-9)))::bigint);
        END IF;
    END LOOP;
    IF t < p_min_tokens OR r < 2 THEN
        RETURN QUERY SELECT false, c, 0::bigint, 0::bigint, 0, NULL::int, NULL::int, NULL::int, NULL::int;
        RETURN;
    END IF;

    UPDATE scopes x SET reserved_tokens = x.reserved_tokens + t,
                        reserved_cost_micros = x.reserved_cost_micros + ceil(t * p_price)::bigint
     WHERE x.scope = ANY (c);
    INSERT INTO rate_windows (scope, minute, requests, tokens)
    SELECT x.scope, v_minute, r, t FROM scopes x WHERE x.scope = ANY (c) AND (x.rpm IS NOT NULL OR x.tpm IS NOT NULL)
    ON CONFLICT (scope, minute) DO UPDATE SET requests = rate_windows.requests + EXCLUDED.requests,
                                              tokens = rate_windows.tokens + EXCLUDED.tokens;
    INSERT INTO reservations (id, scopes, tokens, cost_micros, minute, expires_at)
    VALUES (p_id, c, t, ceil(t * p_price)::bigint, v_minute, now() + make_interval(secs => p_ttl_seconds));
    RETURN QUERY SELECT true, c, t, ceil(t * p_price)::bigint, r, lim_r, rem_r, lim_t, rem_t;
END;
$$;

-- Gives back part of a slice: p_tokens / p_cost of its reservation are released, p_used_tokens /
-- p_used_cost (what the requests it admitted really used) are charged, and p_requests requests it did
-- not admit leave the rate window. The row goes when nothing of it is held any more. A replica sends
-- the parts of one slice one after the other; false when the row is gone (it expired, charged in full).
CREATE FUNCTION release(p_id uuid, p_tokens bigint, p_cost bigint, p_used_tokens bigint, p_used_cost bigint,
                        p_requests integer) RETURNS boolean
LANGUAGE plpgsql SET search_path = gateway, pg_temp AS $$
DECLARE
    r reservations;
BEGIN
    SELECT * INTO r FROM reservations x WHERE x.id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RETURN false;
    END IF;
    PERFORM 1 FROM scopes x WHERE x.scope = ANY (r.scopes) ORDER BY x.scope FOR UPDATE;
    UPDATE scopes x SET reserved_tokens = greatest(0, x.reserved_tokens - p_tokens),
                        reserved_cost_micros = greatest(0, x.reserved_cost_micros - p_cost),
                        used_tokens = x.used_tokens + p_used_tokens,
                        used_cost_micros = x.used_cost_micros + p_used_cost
     WHERE x.scope = ANY (r.scopes);
    UPDATE rate_windows w SET tokens = greatest(0, w.tokens - p_tokens + p_used_tokens),
                              requests = greatest(0, w.requests - p_requests)
     WHERE w.scope = ANY (r.scopes) AND w.minute = r.minute;
    IF r.tokens <= p_tokens THEN
        DELETE FROM reservations x WHERE x.id = p_id;
    ELSE
        UPDATE reservations x SET tokens = x.tokens - p_tokens, cost_micros = greatest(0, x.cost_micros - p_cost)
         WHERE x.id = p_id;
    END IF;
    RETURN true;
END;
$$;

-- Every change of a scope that could make a slice admit what it should not (a pause, a lower limit, a
-- new scope in a chain, a new parent) is announced; replicas return the slices it touches.
CREATE FUNCTION announce_scope_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = gateway, pg_temp AS $$
BEGIN
    PERFORM pg_notify('flotilla_scopes', CASE TG_OP WHEN 'DELETE' THEN OLD.scope ELSE NEW.scope END);
    RETURN NULL;
END;
$$;

CREATE TRIGGER scopes_changed
    AFTER INSERT OR DELETE OR UPDATE OF paused, max_tokens, max_cost_micros, rpm, tpm, parent, reset_period ON scopes
    FOR EACH ROW EXECUTE FUNCTION announce_scope_change();
