-- 好差评: five-level ratings of work orders and service matters, the rectification
-- of each 差评 (不满意/非常不满意), and its history. Rater phones are sealed like
-- reporters' phones; the public scorecards read only the counts.

CREATE TABLE ratings (
    id INTEGER PRIMARY KEY,
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('work_order', 'service')),
    work_order_id BIGINT UNIQUE REFERENCES work_orders (id),
    service_matter TEXT NOT NULL DEFAULT '',
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    unit TEXT NOT NULL DEFAULT '',
    level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 5),
    real_name BOOLEAN NOT NULL,
    rater_name TEXT NOT NULL DEFAULT '',
    rater_phone_enc BLOB,
    rater_phone_masked TEXT,
    comment TEXT NOT NULL DEFAULT '' CHECK (length(comment) <= 500),
    channel TEXT NOT NULL,
    excluded BOOLEAN NOT NULL DEFAULT FALSE,
    idempotency_key TEXT UNIQUE,
    created_at TIMESTAMP NOT NULL,
    CHECK ((subject_kind = 'work_order' AND work_order_id IS NOT NULL)
        OR (subject_kind = 'service' AND work_order_id IS NULL AND service_matter <> ''))
);
CREATE INDEX ratings_division_created ON ratings (division_code, created_at);
CREATE INDEX ratings_created ON ratings (created_at);

CREATE TABLE rating_rectifications (
    id INTEGER PRIMARY KEY,
    rating_id BIGINT NOT NULL UNIQUE REFERENCES ratings (id) ON DELETE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('verify', 'rectify', 'callback', 'review', 'closed')),
    unit TEXT NOT NULL DEFAULT '',
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    deadline TIMESTAMP NOT NULL,
    verify_note TEXT NOT NULL DEFAULT '',
    rectify_note TEXT NOT NULL DEFAULT '',
    callback_note TEXT NOT NULL DEFAULT '',
    appeal_reason TEXT NOT NULL DEFAULT '',
    review_note TEXT NOT NULL DEFAULT '',
    rectified_at TIMESTAMP,
    called_back_at TIMESTAMP,
    updated_at TIMESTAMP NOT NULL,
    closed_at TIMESTAMP
);
CREATE INDEX rating_rectifications_division_state ON rating_rectifications (division_code, state);
CREATE INDEX rating_rectifications_state_deadline ON rating_rectifications (state, deadline);

CREATE TABLE rating_events (
    id INTEGER PRIMARY KEY,
    rating_id BIGINT NOT NULL REFERENCES ratings (id) ON DELETE CASCADE,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    actor_user_id BIGINT,
    action TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX rating_events_rating_id ON rating_events (rating_id, id);
