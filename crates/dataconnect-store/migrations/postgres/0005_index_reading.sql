-- Index readings (generation 3's `index_consommation` / `index_production`):
-- one row per meter, index series, calendar, class and Paris civil day.
-- The distributor's calendar (DI…) and the supplier's (FC…) are both kept,
-- and the totalising register under the calendar id 'TOTAL'.
CREATE TABLE index_reading (
    usage_point_id text        NOT NULL,
    series         text        NOT NULL,
    calendar_id    text        NOT NULL,
    class_id       text        NOT NULL,
    day            date        NOT NULL,
    at             timestamptz NOT NULL,
    calendar_label text,
    class_label    text,
    register       text,
    value          bigint,
    likelihood     bigint,
    PRIMARY KEY (usage_point_id, series, calendar_id, class_id, day)
);

-- A window of register readings and its coverage, in one statement (and so
-- one transaction), as dataconnect_upsert_window does for readings.
CREATE FUNCTION dataconnect_upsert_index_window(
    p_prm text, p_series text, p_from date, p_to date,
    p_calendar text[], p_class text[], p_day date[], p_at bigint[], p_calendar_label text[], p_class_label text[],
    p_register text[], p_value bigint[], p_likelihood bigint[]
) RETURNS bigint LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    n bigint;
BEGIN
    PERFORM dataconnect_lock_series(p_prm, p_series);
    INSERT INTO index_reading (usage_point_id, series, calendar_id, class_id, day, at, calendar_label, class_label,
                               register, value, likelihood)
    SELECT p_prm, p_series, c, k, d, to_timestamp(a), cl, kl, r, v, l
      FROM unnest(p_calendar, p_class, p_day, p_at, p_calendar_label, p_class_label, p_register, p_value, p_likelihood)
           AS t(c, k, d, a, cl, kl, r, v, l)
    ON CONFLICT (usage_point_id, series, calendar_id, class_id, day) DO UPDATE SET
        at = excluded.at, calendar_label = excluded.calendar_label, class_label = excluded.class_label,
        register = excluded.register, value = excluded.value, likelihood = excluded.likelihood;
    GET DIAGNOSTICS n = ROW_COUNT;
    PERFORM dataconnect_merge_coverage(p_prm, p_series, p_from, p_to);
    RETURN n;
END $$;

-- A claimed index window stored with its coverage and removed from the
-- work queue in one transaction, as dataconnect_complete_window does.
CREATE FUNCTION dataconnect_complete_index_window(
    p_id bigint, p_prm text, p_series text, p_from date, p_to date,
    p_calendar text[], p_class text[], p_day date[], p_at bigint[], p_calendar_label text[], p_class_label text[],
    p_register text[], p_value bigint[], p_likelihood bigint[]
) RETURNS bigint LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
    n bigint;
BEGIN
    n := dataconnect_upsert_index_window(p_prm, p_series, p_from, p_to, p_calendar, p_class, p_day, p_at,
                                         p_calendar_label, p_class_label, p_register, p_value, p_likelihood);
    DELETE FROM work_queue WHERE id = p_id;
    RETURN n;
END $$;
