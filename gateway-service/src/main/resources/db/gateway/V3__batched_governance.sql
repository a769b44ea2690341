-- Batched reservations and settlements: a replica combines the concurrent requests of one scope
-- chain into one call, so a hot scope's row locks are taken and committed once per batch instead of
-- once per request. Each element is still judged in order with the single-request rules.
CREATE FUNCTION reserve_many(p_ids uuid[], p_tenant text, p_fixed text[], p_named text, p_prompts bigint[],
                             p_completions bigint[], p_min bigint[], p_in_price double precision,
                             p_out_price double precision, p_ttl_seconds integer)
RETURNS TABLE (request uuid, ok boolean, refused_scope text, reason text, granted bigint, retry_after integer,
               limit_requests integer, remaining_requests integer, limit_tokens integer, remaining_tokens integer,
               period_ends timestamptz)
LANGUAGE plpgsql SET search_path = gateway, pg_temp AS $$
BEGIN
    FOR i IN 1 .. cardinality(p_ids) LOOP
        RETURN QUERY SELECT p_ids[i], r.* FROM reserve(p_ids[i], p_tenant, p_fixed, p_named, p_prompts[i], p_completions[i],
                                                         p_min[i], p_in_price, p_out_price, p_ttl_seconds) r;
    END LOOP;
END;
$$;

CREATE FUNCTION settle_many(p_ids uuid[], p_tokens bigint[], p_costs bigint[]) RETURNS integer
LANGUAGE plpgsql SET search_path = gateway, pg_temp AS $$
DECLARE
    n integer := 0;
BEGIN
    -- every scope the batch touches, locked first in one global order: concurrent batches never deadlock
    PERFORM 1 FROM scopes x
     WHERE x.scope IN (SELECT unnest(r.scopes) FROM reservations r WHERE r.id = ANY (p_ids))
     ORDER BY x.scope FOR UPDATE;
    FOR i IN 1 .. cardinality(p_ids) LOOP
        IF settle(p_ids[i], p_tokens[i], p_costs[i]) THEN
            n := n + 1;
        END IF;
    END LOOP;
    RETURN n;
END;
$$;

CREATE OR REPLACE FUNCTION expire_reservations() RETURNS integer
LANGUAGE plpgsql SET search_path = gateway, pg_temp AS $$
DECLARE
    ids uuid[];
    tokens bigint[];
    costs bigint[];
BEGIN
    SELECT array_agg(x.id), array_agg(x.tokens), array_agg(x.cost_micros) INTO ids, tokens, costs
      FROM (SELECT r.id, r.tokens, r.cost_micros FROM reservations r WHERE r.expires_at < now()
             ORDER BY r.id LIMIT 1000 FOR UPDATE SKIP LOCKED) x;
    DELETE FROM rate_windows w WHERE w.minute < date_trunc('minute', now()) - interval '2 minutes';
    IF ids IS NULL THEN
        RETURN 0;
    END IF;
    RETURN settle_many(ids, tokens, costs);
END;
$$;
