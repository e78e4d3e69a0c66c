-- 接诉即办 operations: departments as handling units, dispatch rules, Open311
-- attributes, photos, per-order timing facts, notifications and the SMS outbox,
-- the configurable calendar, settings, and the monthly 三率 aggregate.

CREATE TABLE departments (
    code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    active BOOLEAN NOT NULL DEFAULT TRUE
);

ALTER TABLE users ADD COLUMN department_code TEXT REFERENCES departments (code);

CREATE TABLE wo_dispatch_rules (
    id INTEGER PRIMARY KEY,
    category_code TEXT REFERENCES wo_categories (code),
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    unit_kind TEXT NOT NULL CHECK (unit_kind IN ('community', 'township', 'department')),
    department_code TEXT REFERENCES departments (code),
    updated_by TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX wo_dispatch_rules_division_category ON wo_dispatch_rules (division_code, category_code);

CREATE TABLE wo_category_attributes (
    category_code TEXT NOT NULL REFERENCES wo_categories (code),
    code TEXT NOT NULL,
    position INTEGER NOT NULL,
    datatype TEXT NOT NULL CHECK (datatype IN ('string', 'number', 'datetime', 'text', 'singlevaluelist', 'multivaluelist')),
    required BOOLEAN NOT NULL DEFAULT FALSE,
    description TEXT NOT NULL,
    datatype_description TEXT NOT NULL DEFAULT '',
    choices TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (category_code, code)
);

INSERT INTO wo_category_attributes (category_code, code, position, datatype, required, description, datatype_description, choices) VALUES
    ('facilities.streetlight', 'pole_number', 1, 'string', FALSE, '路灯杆编号（如有）', '杆身上的编号', '[]'),
    ('facilities.streetlight', 'lamp_state', 2, 'singlevaluelist', TRUE, '路灯状况', '', '[{"key":"off","name":"不亮"},{"key":"flicker","name":"闪烁"},{"key":"daytime","name":"白天常亮"},{"key":"damaged","name":"灯杆损坏"}]'),
    ('property.elevator', 'trapped', 1, 'singlevaluelist', TRUE, '是否有人被困', '', '[{"key":"yes","name":"有人被困"},{"key":"no","name":"无人被困"}]'),
    ('environment.garbage', 'volume', 1, 'singlevaluelist', FALSE, '垃圾量', '', '[{"key":"small","name":"少量"},{"key":"bin","name":"一桶以上"},{"key":"pile","name":"成堆"}]');

ALTER TABLE work_orders ADD COLUMN attributes TEXT NOT NULL DEFAULT '{}';
ALTER TABLE work_orders ADD COLUMN due_at TIMESTAMP;
ALTER TABLE work_orders ADD COLUMN escalation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE work_orders ADD COLUMN signed_at TIMESTAMP;
ALTER TABLE work_orders ADD COLUMN first_reply_at TIMESTAMP;
ALTER TABLE work_orders ADD COLUMN visited_at TIMESTAMP;
ALTER TABLE work_orders ADD COLUMN solved BOOLEAN;
ALTER TABLE work_orders ADD COLUMN rating INTEGER;
ALTER TABLE work_orders ADD COLUMN returns INTEGER NOT NULL DEFAULT 0;
ALTER TABLE work_orders ADD COLUMN reopens INTEGER NOT NULL DEFAULT 0;
CREATE INDEX work_orders_state_due ON work_orders (state, due_at);
CREATE INDEX work_orders_created ON work_orders (created_at);
CREATE INDEX work_orders_updated ON work_orders (updated_at);

CREATE TABLE wo_photos (
    id INTEGER PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('report', 'result')),
    content_type TEXT NOT NULL,
    bytes BLOB NOT NULL,
    width INTEGER NOT NULL,
    height INTEGER NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX wo_photos_order_id ON wo_photos (order_id);

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    recipient TEXT NOT NULL,
    order_id BIGINT,
    kind TEXT NOT NULL,
    message TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    read_at TIMESTAMP
);
CREATE INDEX notifications_recipient ON notifications (recipient, id);

CREATE TABLE sms_outbox (
    id INTEGER PRIMARY KEY,
    phone_enc BLOB NOT NULL,
    phone_masked TEXT NOT NULL,
    message TEXT NOT NULL,
    order_id BIGINT,
    status TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);
CREATE INDEX sms_outbox_status ON sms_outbox (status, id);

CREATE TABLE calendar_days (
    day TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name TEXT NOT NULL DEFAULT ''
);

CREATE TABLE wo_monthly (
    month TEXT NOT NULL,
    unit TEXT NOT NULL,
    division_code TEXT NOT NULL,
    orders BIGINT NOT NULL,
    dispatched BIGINT NOT NULL,
    signed_on_time BIGINT NOT NULL,
    replied BIGINT NOT NULL,
    replied_on_time BIGINT NOT NULL,
    closed BIGINT NOT NULL,
    closed_on_time BIGINT NOT NULL,
    visited BIGINT NOT NULL,
    answered BIGINT NOT NULL,
    solved BIGINT NOT NULL,
    rated BIGINT NOT NULL,
    level1 BIGINT NOT NULL,
    level2 BIGINT NOT NULL,
    level3 BIGINT NOT NULL,
    level4 BIGINT NOT NULL,
    level5 BIGINT NOT NULL,
    overdue BIGINT NOT NULL,
    returned BIGINT NOT NULL,
    reopened BIGINT NOT NULL,
    PRIMARY KEY (month, unit, division_code)
);
CREATE INDEX wo_monthly_division ON wo_monthly (division_code, month);
