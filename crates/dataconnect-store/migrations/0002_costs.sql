-- What costs need besides readings: RTE's Tempo calendar and the price
-- rows a user imported from the regulator's tables (they take precedence
-- over the rows shipped with dataconnect).

CREATE TABLE tempo_day (
    day    TEXT NOT NULL PRIMARY KEY,   -- 'YYYY-MM-DD', the day whose 06:00 starts the Tempo day
    color  TEXT NOT NULL,               -- BLUE, WHITE or RED
    source TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE tariff_row (
    option             TEXT    NOT NULL,  -- base, hphc or tempo
    kva                INTEGER NOT NULL,
    start_day          TEXT    NOT NULL,
    end_day            TEXT,              -- inclusive; NULL while in force
    fixed_eur_per_year REAL    NOT NULL,
    prices_json        TEXT    NOT NULL,  -- {"HP":0.27,"HC":0.2068}
    source             TEXT    NOT NULL,
    imported_at        INTEGER NOT NULL,
    PRIMARY KEY (option, kva, start_day)
) WITHOUT ROWID;
