-- 探访关爱: the special-difficulty elderly roster, assigned visitors, the monthly
-- visit plan, visit records with photos, and the per-village monthly aggregate
-- the visit-rate dashboard and indicator read.

CREATE TABLE care_subjects (
    id INTEGER PRIMARY KEY,
    person_id BIGINT NOT NULL UNIQUE REFERENCES people (id) ON DELETE CASCADE,
    division_code TEXT NOT NULL,
    village_code TEXT NOT NULL,
    name TEXT NOT NULL,
    birth_date DATE NOT NULL,
    tier TEXT NOT NULL CHECK (tier IN ('high', 'key', 'general')),
    tier_rule TEXT NOT NULL CHECK (tier_rule IN ('high', 'key', 'general')),
    tier_override BOOLEAN NOT NULL DEFAULT FALSE,
    status TEXT NOT NULL CHECK (status IN ('active', 'lapsed', 'excluded')),
    source TEXT NOT NULL CHECK (source IN ('sync', 'manual')),
    reason TEXT NOT NULL DEFAULT '',
    guardian TEXT NOT NULL DEFAULT '',
    contact_note TEXT NOT NULL DEFAULT '',
    joined_on DATE NOT NULL,
    left_on DATE,
    last_visit_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX care_subjects_village ON care_subjects (village_code, status, id);
CREATE INDEX care_subjects_division ON care_subjects (division_code, id);

CREATE TABLE care_visitors (
    subject_id BIGINT NOT NULL REFERENCES care_subjects (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    assigned_at TIMESTAMP NOT NULL,
    PRIMARY KEY (subject_id, user_id)
);
CREATE INDEX care_visitors_user ON care_visitors (user_id, subject_id);

CREATE TABLE care_visits (
    id INTEGER PRIMARY KEY,
    subject_id BIGINT NOT NULL REFERENCES care_subjects (id) ON DELETE CASCADE,
    village_code TEXT NOT NULL,
    visitor_id BIGINT,
    visitor_name TEXT NOT NULL DEFAULT '',
    visited_at TIMESTAMP NOT NULL,
    channel TEXT NOT NULL CHECK (channel IN ('home', 'phone', 'video')),
    valid BOOLEAN NOT NULL,
    living TEXT NOT NULL CHECK (living IN ('normal', 'attention', 'need')),
    safety TEXT NOT NULL CHECK (safety IN ('normal', 'attention', 'need')),
    support TEXT NOT NULL CHECK (support IN ('normal', 'attention', 'need')),
    service TEXT NOT NULL CHECK (service IN ('normal', 'attention', 'need')),
    notes TEXT NOT NULL DEFAULT '',
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    emergency BOOLEAN NOT NULL DEFAULT FALSE,
    work_order_id BIGINT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX care_visits_subject ON care_visits (subject_id, visited_at);
CREATE INDEX care_visits_visited_at ON care_visits (visited_at);

CREATE TABLE care_visit_photos (
    id INTEGER PRIMARY KEY,
    visit_id BIGINT NOT NULL REFERENCES care_visits (id) ON DELETE CASCADE,
    content_type TEXT NOT NULL,
    bytes BLOB NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX care_visit_photos_visit ON care_visit_photos (visit_id);

-- One row per due visit; visit_id is set by the first valid visit in its window.
CREATE TABLE care_plan (
    id INTEGER PRIMARY KEY,
    subject_id BIGINT NOT NULL REFERENCES care_subjects (id) ON DELETE CASCADE,
    village_code TEXT NOT NULL,
    month TEXT NOT NULL,
    window_start DATE NOT NULL,
    due_date DATE NOT NULL,
    visit_id BIGINT,
    notified_at TIMESTAMP,
    UNIQUE (subject_id, due_date)
);
CREATE INDEX care_plan_village_due ON care_plan (village_code, due_date);
CREATE INDEX care_plan_due ON care_plan (due_date, visit_id);

-- Per division (village/community and every ancestor) and month: subjects on the
-- roster and those with at least one valid visit, so a dashboard reads one row per
-- division shown.
CREATE TABLE care_monthly (
    month TEXT NOT NULL,
    division_code TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('city', 'county', 'township', 'village')),
    roster BIGINT NOT NULL DEFAULT 0,
    visited BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (month, division_code)
);
CREATE INDEX care_monthly_level ON care_monthly (month, level, division_code);
