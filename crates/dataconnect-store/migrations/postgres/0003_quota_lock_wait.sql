-- The shared quota's reservation also says how long it waited for the
-- budget's row lock. A client measures the round trip of each reservation
-- to tell a slot it may leave late (the answer delayed after the slot was
-- computed) from one it may not; time spent waiting for the lock comes
-- before the slot is computed and is no such delay, so the client takes it
-- out. A new function with dataconnect_quota_reserve's body (0002), so
-- that processes of the previous version keep using that one unchanged;
-- one function, not a call of the other, to keep the lock held as briefly.
--
-- Returns {seconds to wait from now until the slot, seconds waited for the
-- lock}.
CREATE FUNCTION dataconnect_quota_reserve_timed(p_api text, p_per_second integer, p_per_hour integer, p_margin_ms integer)
RETURNS double precision[] LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    asked timestamptz := clock_timestamp();
    g quota_gate%ROWTYPE;
    t_now timestamptz;
    slot timestamptz;
    used bigint;
BEGIN
    INSERT INTO quota_gate (api, next_slot, margin_ms) VALUES (p_api, clock_timestamp(), p_margin_ms)
        ON CONFLICT (api) DO NOTHING;
    SELECT * INTO g FROM quota_gate WHERE api = p_api FOR UPDATE;
    -- Read after the lock: the time spent waiting for it is not a slot.
    t_now := clock_timestamp();
    slot := greatest(g.next_slot, t_now, COALESCE(g.closed_until, t_now));
    LOOP
        INSERT INTO quota_gate_hour (api, hour_start, calls) VALUES (p_api, date_trunc('hour', slot, 'UTC'), 1)
            ON CONFLICT (api, hour_start) DO UPDATE SET calls = quota_gate_hour.calls + 1
            RETURNING calls INTO used;
        IF used = 1 THEN
            DELETE FROM quota_gate_hour WHERE api = p_api AND hour_start < date_trunc('hour', slot, 'UTC') - interval '2 days';
        END IF;
        EXIT WHEN used <= p_per_hour;
        UPDATE quota_gate_hour SET calls = calls - 1 WHERE api = p_api AND hour_start = date_trunc('hour', slot, 'UTC');
        slot := date_trunc('hour', slot, 'UTC') + interval '1 hour 2 seconds';
    END LOOP;
    UPDATE quota_gate
       SET next_slot = slot + (interval '1 second' + g.margin_ms * interval '1 millisecond') / p_per_second
     WHERE api = p_api;
    RETURN ARRAY[extract(epoch FROM (slot - t_now)), extract(epoch FROM (t_now - asked))];
END $$;

-- The previous entry point keeps its signature for processes of the
-- previous version, and now shares the one body above.
CREATE OR REPLACE FUNCTION dataconnect_quota_reserve(p_api text, p_per_second integer, p_per_hour integer, p_margin_ms integer)
RETURNS double precision LANGUAGE sql SET search_path FROM CURRENT AS $$
    SELECT (dataconnect_quota_reserve_timed(p_api, p_per_second, p_per_hour, p_margin_ms))[1];
$$;
