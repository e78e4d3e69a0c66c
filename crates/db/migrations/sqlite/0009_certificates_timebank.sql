-- 志愿服务记录证明 (certificates) and 时间银行 (time bank).
--
-- A certificate keeps a snapshot of what it states (volunteer, issuer, hours and
-- the sign-ups counted), so later corrections never change an issued certificate;
-- verification compares the snapshot with the record. active_key is
-- "volunteer_id:from:to" while valid and NULL once revoked, so one volunteer has
-- at most one valid certificate per period.
--
-- The time bank is a double-entry ledger: a transaction has two or more postings
-- (minutes) that sum to zero; postings are never changed (corrections are
-- reversing transactions). balance_minutes is the running sum of an account's
-- postings, kept in the same transaction.

CREATE TABLE certificate_counters (
    year INTEGER NOT NULL PRIMARY KEY,
    last_seq BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE certificates (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,
    volunteer_id BIGINT NOT NULL REFERENCES volunteers (id),
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    period_from DATE NOT NULL,
    period_to DATE NOT NULL,
    total_minutes BIGINT NOT NULL CHECK (total_minutes > 0),
    item_count INTEGER NOT NULL CHECK (item_count > 0),
    volunteer_name TEXT NOT NULL,
    id_type TEXT NOT NULL,
    id_number_masked TEXT NOT NULL,
    volunteer_no TEXT NOT NULL,
    content TEXT NOT NULL,
    issuer_name TEXT NOT NULL,
    issuer_head TEXT NOT NULL,
    issuer_handler TEXT NOT NULL,
    issuer_contact TEXT NOT NULL,
    remarks TEXT NOT NULL DEFAULT '',
    issued_by BIGINT,
    issued_at TIMESTAMP NOT NULL,
    state TEXT NOT NULL DEFAULT 'valid' CHECK (state IN ('valid', 'revoked')),
    revoked_at TIMESTAMP,
    revoked_by BIGINT,
    revoke_reason TEXT NOT NULL DEFAULT '',
    active_key TEXT UNIQUE,
    CHECK (period_to >= period_from)
);
CREATE INDEX certificates_division_code ON certificates (division_code, id);
CREATE INDEX certificates_volunteer_id ON certificates (volunteer_id, id);

CREATE TABLE certificate_items (
    certificate_id BIGINT NOT NULL REFERENCES certificates (id) ON DELETE CASCADE,
    signup_id BIGINT NOT NULL REFERENCES volunteer_signups (id),
    activity_title TEXT NOT NULL,
    category TEXT NOT NULL,
    organizer_division_code TEXT NOT NULL,
    served_at TIMESTAMP NOT NULL,
    minutes INTEGER NOT NULL CHECK (minutes > 0),
    PRIMARY KEY (certificate_id, signup_id)
);
CREATE INDEX certificate_items_signup_id ON certificate_items (signup_id);

CREATE TABLE timebank_accounts (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('volunteer', 'team', 'pool', 'guarantee', 'issued')),
    volunteer_id BIGINT UNIQUE REFERENCES volunteers (id),
    team_id BIGINT UNIQUE REFERENCES volunteer_teams (id),
    system_key TEXT UNIQUE,
    division_code TEXT REFERENCES divisions (code) ON UPDATE CASCADE,
    balance_minutes BIGINT NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX timebank_accounts_division_code ON timebank_accounts (division_code, id);

CREATE TABLE timebank_transactions (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('deposit', 'overflow', 'withdraw', 'transfer',
        'donate', 'grant', 'fund', 'reversal')),
    signup_id BIGINT UNIQUE REFERENCES volunteer_signups (id),
    reverses_id BIGINT UNIQUE REFERENCES timebank_transactions (id),
    division_code TEXT REFERENCES divisions (code) ON UPDATE CASCADE,
    beneficiary TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    created_by BIGINT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX timebank_transactions_division_code ON timebank_transactions (division_code, id);

CREATE TABLE timebank_postings (
    id INTEGER PRIMARY KEY,
    transaction_id BIGINT NOT NULL REFERENCES timebank_transactions (id),
    account_id BIGINT NOT NULL REFERENCES timebank_accounts (id),
    minutes BIGINT NOT NULL CHECK (minutes <> 0)
);
CREATE INDEX timebank_postings_account_id ON timebank_postings (account_id, id);
CREATE INDEX timebank_postings_transaction_id ON timebank_postings (transaction_id);
