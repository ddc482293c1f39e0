-- The first schema of the dataconnect store.
--
-- Instants are INTEGER seconds since the Unix epoch (UTC); civil days are
-- TEXT 'YYYY-MM-DD' (Paris calendar days), which sort lexicographically.

-- One row per measured interval. WITHOUT ROWID keeps the rows clustered on
-- the key, so a range scan for one meter and series reads contiguous pages
-- and an upsert of a re-fetched window touches the same pages again.
CREATE TABLE reading (
    usage_point_id TEXT    NOT NULL,
    series         TEXT    NOT NULL,
    start          INTEGER NOT NULL,
    "end"          INTEGER NOT NULL,
    value          REAL,               -- NULL where the API listed the interval without a value
    unit           TEXT    NOT NULL,
    peak_at        INTEGER,            -- daily maximum power only
    PRIMARY KEY (usage_point_id, series, start)
) WITHOUT ROWID;

-- The half-open Paris day ranges [start_day, end_day) already fetched per
-- meter and series. Ranges are kept merged (no two overlap or touch), so
-- "what is missing" is a simple difference against the wanted range.
CREATE TABLE coverage (
    usage_point_id TEXT NOT NULL,
    series         TEXT NOT NULL,
    start_day      TEXT NOT NULL,
    end_day        TEXT NOT NULL,
    PRIMARY KEY (usage_point_id, series, start_day)
) WITHOUT ROWID;

-- Per meter and series: when it was last synced and why it was stopped
-- (for example ADAM-ERR0069, or a load curve the customer does not collect).
CREATE TABLE series_state (
    usage_point_id TEXT NOT NULL,
    series         TEXT NOT NULL,
    last_synced_at INTEGER,
    stopped_reason TEXT,
    PRIMARY KEY (usage_point_id, series)
) WITHOUT ROWID;

-- One row per consented meter (a consent may share several meters).
CREATE TABLE consent (
    usage_point_id  TEXT    NOT NULL PRIMARY KEY,
    generation      TEXT    NOT NULL,
    start_day       TEXT    NOT NULL,
    duration        TEXT    NOT NULL,
    expiry_day      TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    autorisation_id TEXT,
    needs_consent   INTEGER NOT NULL DEFAULT 0,
    reason          TEXT,
    recorded_at     INTEGER NOT NULL
);

-- Authorize URLs handed out and not yet completed, keyed by their state.
CREATE TABLE pending_consent (
    state          TEXT    NOT NULL PRIMARY KEY,
    generation     TEXT    NOT NULL,
    duration       TEXT    NOT NULL,
    sandbox_client INTEGER,
    created_at     INTEGER NOT NULL
);

-- What the customer endpoints said about a meter.
CREATE TABLE meter (
    usage_point_id  TEXT NOT NULL PRIMARY KEY,
    contract_json   TEXT,
    address_json    TEXT,
    activation_day  TEXT,
    updated_at      INTEGER NOT NULL
);

-- One row per `sync` run, finished or not (a killed run keeps finished_at NULL).
CREATE TABLE sync_run (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER,
    status      TEXT    NOT NULL,
    calls       INTEGER NOT NULL DEFAULT 0,
    points      INTEGER NOT NULL DEFAULT 0,
    message     TEXT
);

-- Data calls made per UTC hour, so that `status` can show the quota used
-- and a later run can see what an earlier one spent.
CREATE TABLE quota_counter (
    hour_start INTEGER NOT NULL PRIMARY KEY,
    calls      INTEGER NOT NULL
);
