-- People, households, organisations; users, sessions, tokens; the audit chain.

CREATE TABLE households (
    id INTEGER PRIMARY KEY,
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    address TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX households_division_code ON households (division_code);

-- Protected fields are AES-256-GCM blobs; *_index columns hold HMAC blind indexes,
-- *_masked columns the display form.
CREATE TABLE people (
    id INTEGER PRIMARY KEY,
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    household_id BIGINT REFERENCES households (id),
    relation TEXT NOT NULL DEFAULT 'other',
    name TEXT NOT NULL,
    gender TEXT NOT NULL CHECK (gender IN ('male', 'female')),
    birth_date DATE NOT NULL,
    id_number_enc BLOB NOT NULL,
    id_number_index TEXT NOT NULL UNIQUE,
    id_number_masked TEXT NOT NULL,
    phone_enc BLOB,
    phone_masked TEXT,
    address TEXT NOT NULL DEFAULT '',
    tags_general TEXT NOT NULL DEFAULT '',
    tags_protected_enc BLOB,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX people_division_code ON people (division_code, id);
CREATE INDEX people_household_id ON people (household_id);
CREATE INDEX people_name ON people (name);

-- One row per tag of a person: general tags by code, protected tags by blind index.
CREATE TABLE person_tags (
    person_id BIGINT NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    tag_index TEXT NOT NULL,
    division_code TEXT NOT NULL,
    PRIMARY KEY (person_id, tag_index)
);
CREATE INDEX person_tags_tag_division ON person_tags (tag_index, division_code, person_id);

CREATE TABLE organizations (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    credit_code TEXT NOT NULL UNIQUE,
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    kind TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX organizations_division_code ON organizations (division_code);

CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    display_name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'security_admin', 'auditor', 'city_staff',
        'county_staff', 'township_staff', 'community_staff', 'grid_worker',
        'department_staff', 'volunteer', 'resident')),
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    password_hash TEXT NOT NULL,
    failed_logins BIGINT NOT NULL DEFAULT 0,
    locked_until TIMESTAMP,
    disabled BOOLEAN NOT NULL DEFAULT FALSE,
    password_changed_at TIMESTAMP NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX users_division_code ON users (division_code);

CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    last_seen_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id);

CREATE TABLE auth_tokens (
    id INTEGER PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX auth_tokens_user_id ON auth_tokens (user_id);

ALTER TABLE api_keys ADD COLUMN expires_at TIMESTAMP;

-- The audit chain: seq is contiguous from 1, each hash covers the entry and the
-- previous hash; audit_head holds the tip so a truncated tail is detected too.
CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    actor_role TEXT NOT NULL DEFAULT '',
    action TEXT NOT NULL,
    entity TEXT NOT NULL DEFAULT '',
    entity_id TEXT NOT NULL DEFAULT '',
    division_code TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL DEFAULT 'ok',
    detail TEXT NOT NULL DEFAULT '{}',
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor);
CREATE INDEX audit_log_action ON audit_log (action);

CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    last_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, last_hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;
