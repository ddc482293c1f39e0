-- What costs need besides readings: RTE's Tempo calendar and the price
-- rows a user imported from the regulator's tables (they take precedence
-- over the rows shipped with dataconnect).

CREATE TABLE tempo_day (
    day    date NOT NULL PRIMARY KEY,  -- the day whose 06:00 starts the Tempo day
    color  text NOT NULL CHECK (color IN ('BLUE', 'WHITE', 'RED')),
    source text NOT NULL
);

CREATE TABLE tariff_row (
    option             text             NOT NULL CHECK (option IN ('base', 'hphc', 'tempo')),
    kva                integer          NOT NULL,
    start_day          date             NOT NULL,
    end_day            date,            -- inclusive; NULL while in force
    fixed_eur_per_year double precision NOT NULL,
    prices_json        text             NOT NULL,
    source             text             NOT NULL,
    imported_at        timestamptz      NOT NULL,
    PRIMARY KEY (option, kva, start_day)
);
