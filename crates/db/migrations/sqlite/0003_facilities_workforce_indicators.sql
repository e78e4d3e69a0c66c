-- Facilities and their spaces, functions, hours and terminals; division attributes;
-- the community workforce; the plan-target monitor's values, targets and snapshots.
-- Areas are stored in hundredths of a square metre (*_x100), hours in tenths (*_x10).

CREATE TABLE facilities (
    id INTEGER PRIMARY KEY,
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    name TEXT NOT NULL,
    address TEXT NOT NULL DEFAULT '',
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    floor_area_x100 BIGINT NOT NULL DEFAULT 0 CHECK (floor_area_x100 >= 0),
    status TEXT NOT NULL DEFAULT 'in_use' CHECK (status IN ('in_use', 'building', 'closed')),
    year_built INTEGER,
    online_24h BOOLEAN NOT NULL DEFAULT FALSE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX facilities_division_code ON facilities (division_code, id);

CREATE TABLE facility_spaces (
    id INTEGER PRIMARY KEY,
    facility_id BIGINT NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose IN ('activity', 'office')),
    area_x100 BIGINT NOT NULL CHECK (area_x100 >= 0)
);
CREATE INDEX facility_spaces_facility_id ON facility_spaces (facility_id);

-- 一房多用: the functions a facility hosts; elderly-care functions record land area.
CREATE TABLE facility_functions (
    facility_id BIGINT NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    function_code TEXT NOT NULL,
    land_area_x100 BIGINT NOT NULL DEFAULT 0 CHECK (land_area_x100 >= 0),
    PRIMARY KEY (facility_id, function_code)
);
CREATE INDEX facility_functions_function_code ON facility_functions (function_code);

-- Weekly opening hours: weekday 1 (Monday) … 7, minutes from midnight.
CREATE TABLE facility_hours (
    facility_id BIGINT NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    weekday INTEGER NOT NULL CHECK (weekday BETWEEN 1 AND 7),
    opens_min INTEGER NOT NULL CHECK (opens_min BETWEEN 0 AND 1440),
    closes_min INTEGER NOT NULL CHECK (closes_min BETWEEN 0 AND 1440),
    PRIMARY KEY (facility_id, weekday, opens_min)
);

-- Holiday exceptions: closed on a day, or open with other hours.
CREATE TABLE facility_exceptions (
    facility_id BIGINT NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    day DATE NOT NULL,
    opens_min INTEGER,
    closes_min INTEGER,
    note TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (facility_id, day)
);

-- Self-service government terminals.
CREATE TABLE terminals (
    id INTEGER PRIMARY KEY,
    facility_id BIGINT NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    division_code TEXT NOT NULL,
    serial TEXT NOT NULL UNIQUE,
    model TEXT NOT NULL DEFAULT '',
    last_seen_at TIMESTAMP
);
CREATE INDEX terminals_division_code ON terminals (division_code);

-- Division facts the targets need.
CREATE TABLE division_attributes (
    division_code TEXT PRIMARY KEY REFERENCES divisions (code) ON UPDATE CASCADE,
    new_build BOOLEAN NOT NULL DEFAULT FALSE,
    building_area_x100 BIGINT NOT NULL DEFAULT 0 CHECK (building_area_x100 >= 0),
    commercial_area_x100 BIGINT NOT NULL DEFAULT 0 CHECK (commercial_area_x100 >= 0),
    broadband BOOLEAN NOT NULL DEFAULT FALSE,
    five_g BOOLEAN NOT NULL DEFAULT FALSE,
    designations TEXT NOT NULL DEFAULT '',
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE workers (
    id INTEGER PRIMARY KEY,
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('committee', 'full_time', 'grid', 'social_worker')),
    grade TEXT NOT NULL DEFAULT '',
    certificate TEXT NOT NULL DEFAULT 'none' CHECK (certificate IN ('none', 'assistant', 'social_worker', 'senior')),
    hire_date DATE NOT NULL,
    mentor_id BIGINT REFERENCES workers (id) ON DELETE SET NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX workers_division_code ON workers (division_code, id);
CREATE INDEX workers_mentor_id ON workers (mentor_id);

CREATE TABLE worker_trainings (
    id INTEGER PRIMARY KEY,
    worker_id BIGINT NOT NULL REFERENCES workers (id) ON DELETE CASCADE,
    day DATE NOT NULL,
    topic TEXT NOT NULL,
    hours_x10 INTEGER NOT NULL CHECK (hours_x10 > 0)
);
CREATE INDEX worker_trainings_worker_id ON worker_trainings (worker_id);

-- Current numerator and denominator of every indicator at every division node.
CREATE TABLE indicator_values (
    indicator_id TEXT NOT NULL,
    division_code TEXT NOT NULL,
    numerator BIGINT NOT NULL,
    denominator BIGINT NOT NULL,
    PRIMARY KEY (indicator_id, division_code)
);
CREATE INDEX indicator_values_division_code ON indicator_values (division_code);

-- Local targets stricter than the catalogue's default.
CREATE TABLE indicator_targets (
    indicator_id TEXT NOT NULL,
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    target DOUBLE PRECISION NOT NULL,
    set_by TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (indicator_id, division_code)
);

CREATE TABLE indicator_snapshots (
    month TEXT NOT NULL,
    indicator_id TEXT NOT NULL,
    division_code TEXT NOT NULL,
    numerator BIGINT NOT NULL,
    denominator BIGINT NOT NULL,
    PRIMARY KEY (month, indicator_id, division_code)
);
CREATE INDEX indicator_snapshots_division ON indicator_snapshots (division_code, indicator_id);

-- Bumped on every change to indicator values, so servers can cache dashboards.
INSERT INTO settings (key, value) VALUES ('indicators_version', '0');
