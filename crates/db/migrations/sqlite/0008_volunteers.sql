-- Volunteers (志愿者): registration (《志愿服务条例》 art. 7), teams, stations at
-- community facilities, activities with sign-ups, check-in/check-out and the
-- service-hour record (《志愿服务记录与证明出具办法》: the organiser records and
-- confirms actual service minutes; every later correction is logged).
-- Protected fields follow people: AES-256-GCM blobs, HMAC blind index, masked copy.

-- Last issued sequence of the unified volunteer number per county.
CREATE TABLE volunteer_no_counters (
    county_code TEXT NOT NULL PRIMARY KEY,
    last_seq BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE volunteers (
    id INTEGER PRIMARY KEY,
    volunteer_no TEXT NOT NULL UNIQUE,
    person_id BIGINT REFERENCES people (id),
    user_id BIGINT UNIQUE REFERENCES users (id),
    name TEXT NOT NULL,
    gender TEXT NOT NULL CHECK (gender IN ('male', 'female')),
    birth_date DATE NOT NULL,
    id_number_enc BLOB NOT NULL,
    id_number_index TEXT NOT NULL UNIQUE,
    id_number_masked TEXT NOT NULL,
    phone_enc BLOB,
    phone_masked TEXT,
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    skills TEXT NOT NULL DEFAULT '',
    availability TEXT NOT NULL DEFAULT '',
    registered_by_org BIGINT REFERENCES organizations (id),
    registered_by BIGINT,
    consent_at TIMESTAMP NOT NULL,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended', 'left')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX volunteers_division_code ON volunteers (division_code, id);
CREATE INDEX volunteers_person_id ON volunteers (person_id);
CREATE INDEX volunteers_name ON volunteers (name);

CREATE TABLE volunteer_teams (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('general', 'emergency_rescue', 'elder_care',
        'party_member', 'culture', 'environment', 'medical')),
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    organization_id BIGINT REFERENCES organizations (id),
    leader_volunteer_id BIGINT REFERENCES volunteers (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX volunteer_teams_division_code ON volunteer_teams (division_code, id);

CREATE TABLE volunteer_team_members (
    team_id BIGINT NOT NULL REFERENCES volunteer_teams (id) ON DELETE CASCADE,
    volunteer_id BIGINT NOT NULL REFERENCES volunteers (id) ON DELETE CASCADE,
    joined_at TIMESTAMP NOT NULL,
    PRIMARY KEY (team_id, volunteer_id)
);
CREATE INDEX volunteer_team_members_volunteer_id ON volunteer_team_members (volunteer_id);

-- A station sits in one facility; while open, the facility carries the
-- 'volunteer_station' function (counted by the volunteer_station_share indicator).
CREATE TABLE volunteer_stations (
    id INTEGER PRIMARY KEY,
    facility_id BIGINT NOT NULL UNIQUE REFERENCES facilities (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    opened_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP
);
CREATE INDEX volunteer_stations_division_code ON volunteer_stations (division_code, id);

CREATE TABLE volunteer_activities (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    organizer_kind TEXT NOT NULL CHECK (organizer_kind IN ('division', 'organization')),
    organizer_division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    organization_id BIGINT REFERENCES organizations (id),
    team_id BIGINT REFERENCES volunteer_teams (id),
    station_id BIGINT REFERENCES volunteer_stations (id),
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    place TEXT NOT NULL DEFAULT '',
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    quota INTEGER NOT NULL CHECK (quota > 0),
    skills TEXT NOT NULL DEFAULT '',
    category TEXT NOT NULL,
    elder_care BOOLEAN NOT NULL DEFAULT FALSE,
    recurrence_group TEXT,
    checkin_code TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'published' CHECK (state IN ('published', 'cancelled', 'finished')),
    cancel_reason TEXT NOT NULL DEFAULT '',
    created_by BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX volunteer_activities_division_starts ON volunteer_activities (division_code, starts_at);
CREATE INDEX volunteer_activities_starts_at ON volunteer_activities (starts_at);
CREATE INDEX volunteer_activities_recurrence_group ON volunteer_activities (recurrence_group);

-- minutes: confirmed actual service minutes (travel excluded), NULL until the
-- organiser confirms.
CREATE TABLE volunteer_signups (
    id INTEGER PRIMARY KEY,
    activity_id BIGINT NOT NULL REFERENCES volunteer_activities (id) ON DELETE CASCADE,
    volunteer_id BIGINT NOT NULL REFERENCES volunteers (id) ON DELETE CASCADE,
    state TEXT NOT NULL DEFAULT 'signed_up' CHECK (state IN ('signed_up', 'checked_in',
        'completed', 'no_show', 'cancelled')),
    signed_up_by BIGINT,
    signed_up_at TIMESTAMP NOT NULL,
    checkin_at TIMESTAMP,
    checkout_at TIMESTAMP,
    minutes INTEGER CHECK (minutes >= 0),
    confirmed_by BIGINT,
    confirmed_at TIMESTAMP,
    note TEXT NOT NULL DEFAULT '',
    UNIQUE (activity_id, volunteer_id)
);
CREATE INDEX volunteer_signups_volunteer_id ON volunteer_signups (volunteer_id, state);
CREATE INDEX volunteer_signups_activity_state ON volunteer_signups (activity_id, state);

CREATE TABLE volunteer_hour_corrections (
    id INTEGER PRIMARY KEY,
    signup_id BIGINT NOT NULL REFERENCES volunteer_signups (id) ON DELETE CASCADE,
    old_minutes INTEGER,
    new_minutes INTEGER NOT NULL CHECK (new_minutes >= 0),
    reason TEXT NOT NULL,
    by_user BIGINT,
    at TIMESTAMP NOT NULL
);
CREATE INDEX volunteer_hour_corrections_signup_id ON volunteer_hour_corrections (signup_id);
