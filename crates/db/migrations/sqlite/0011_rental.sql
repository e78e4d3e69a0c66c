-- 康复辅具社区租赁: rental points at community facilities, their aids (asset tag,
-- condition, state, deposit and daily fee in fen), and loans with returns.
-- Borrower phones of named (non-register) borrowers are sealed with a blind
-- index for lookup and a masked copy for screens.

CREATE TABLE rental_points (
    id INTEGER PRIMARY KEY,
    facility_id BIGINT NOT NULL REFERENCES facilities (id),
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    name TEXT NOT NULL,
    contact_name TEXT NOT NULL DEFAULT '',
    contact_phone TEXT NOT NULL DEFAULT '',
    opening_note TEXT NOT NULL DEFAULT '',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX rental_points_division_code ON rental_points (division_code, id);
CREATE INDEX rental_points_facility_id ON rental_points (facility_id);

CREATE TABLE rental_items (
    id INTEGER PRIMARY KEY,
    point_id BIGINT NOT NULL REFERENCES rental_points (id),
    division_code TEXT NOT NULL,
    kind TEXT NOT NULL,
    asset_tag TEXT NOT NULL,
    condition TEXT NOT NULL CHECK (condition IN ('good', 'needs_repair', 'scrapped')),
    state TEXT NOT NULL CHECK (state IN ('in_stock', 'on_loan', 'repair', 'scrapped')),
    daily_fee_fen BIGINT NOT NULL CHECK (daily_fee_fen >= 0),
    deposit_fen BIGINT NOT NULL CHECK (deposit_fen >= 0),
    note TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (point_id, asset_tag)
);
CREATE INDEX rental_items_point_state ON rental_items (point_id, state);
CREATE INDEX rental_items_division_code ON rental_items (division_code, state);

CREATE TABLE rental_loans (
    id INTEGER PRIMARY KEY,
    item_id BIGINT NOT NULL REFERENCES rental_items (id),
    point_id BIGINT NOT NULL REFERENCES rental_points (id),
    division_code TEXT NOT NULL,
    person_id BIGINT REFERENCES people (id),
    borrower_name TEXT NOT NULL,
    borrower_phone_enc BLOB,
    borrower_phone_index TEXT,
    borrower_phone_masked TEXT,
    start_date DATE NOT NULL,
    due_date DATE NOT NULL,
    fee_rule TEXT NOT NULL CHECK (fee_rule IN ('standard', 'waived')),
    daily_fee_fen BIGINT NOT NULL CHECK (daily_fee_fen >= 0),
    deposit_fen BIGINT NOT NULL CHECK (deposit_fen >= 0),
    extensions INTEGER NOT NULL DEFAULT 0,
    returned_on DATE,
    return_condition TEXT CHECK (return_condition IN ('good', 'needs_repair', 'scrapped')),
    fee_fen BIGINT,
    deposit_kept_fen BIGINT,
    deposit_refund_fen BIGINT,
    amount_due_fen BIGINT,
    keep_reason TEXT NOT NULL DEFAULT '',
    lent_by BIGINT,
    returned_by BIGINT,
    created_at TIMESTAMP NOT NULL,
    returned_at TIMESTAMP,
    CHECK (due_date >= start_date),
    CHECK (returned_on IS NULL OR returned_on >= start_date)
);
CREATE INDEX rental_loans_point_open ON rental_loans (point_id, returned_on, due_date);
CREATE INDEX rental_loans_division_open ON rental_loans (division_code, returned_on, due_date);
CREATE INDEX rental_loans_start_date ON rental_loans (start_date, division_code);
CREATE INDEX rental_loans_item_id ON rental_loans (item_id);
CREATE INDEX rental_loans_person_id ON rental_loans (person_id);
CREATE INDEX rental_loans_borrower_phone_index ON rental_loans (borrower_phone_index);
