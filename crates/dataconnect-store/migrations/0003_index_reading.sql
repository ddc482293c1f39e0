-- Index readings (generation 3's `index_consommation` / `index_production`):
-- one row per meter, index series, calendar, class and Paris civil day.
-- The distributor's calendar (DI…) and the supplier's (FC…) are both kept,
-- and the totalising register under the calendar id 'TOTAL'.
CREATE TABLE index_reading (
    usage_point_id TEXT    NOT NULL,
    series         TEXT    NOT NULL,
    calendar_id    TEXT    NOT NULL,
    class_id       TEXT    NOT NULL,
    day            TEXT    NOT NULL,   -- 'YYYY-MM-DD', Paris
    at             INTEGER NOT NULL,   -- when the register was read, UTC seconds
    calendar_label TEXT,
    class_label    TEXT,
    register       TEXT,
    value          INTEGER,            -- Wh; NULL where the API gave no value
    likelihood     INTEGER,
    PRIMARY KEY (usage_point_id, series, calendar_id, class_id, day)
) WITHOUT ROWID;
