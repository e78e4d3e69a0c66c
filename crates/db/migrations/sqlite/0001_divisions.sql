-- The division tree: city → county → township/street → village/community → grid.
CREATE TABLE divisions (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('city', 'county', 'township', 'village', 'grid')),
    kind TEXT NOT NULL,
    parent_code TEXT REFERENCES divisions (code) ON UPDATE CASCADE,
    urban BOOLEAN NOT NULL DEFAULT FALSE,
    urban_rural_class TEXT,
    population BIGINT NOT NULL DEFAULT 0 CHECK (population >= 0),
    urban_population BIGINT NOT NULL DEFAULT 0 CHECK (urban_population >= 0),
    households BIGINT NOT NULL DEFAULT 0 CHECK (households >= 0),
    centroid_lon DOUBLE PRECISION,
    centroid_lat DOUBLE PRECISION,
    polygon TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX divisions_parent_code ON divisions (parent_code);
CREATE INDEX divisions_level ON divisions (level);
CREATE INDEX divisions_name ON divisions (name);

-- Integration keys (Open311 api_key, bearer tokens), stored as SHA-256 of the key.
CREATE TABLE api_keys (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    key_hash TEXT NOT NULL UNIQUE,
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX api_keys_division_code ON api_keys (division_code);

-- Small facts about the installation (demo seed and scale, schema notes).
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
