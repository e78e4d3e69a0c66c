-- 接诉即办 work orders: categories with their time limits, the orders, and every
-- transition as an event. Reporter phones are sealed like residents' phones.

CREATE TABLE wo_categories (
    code TEXT PRIMARY KEY,
    parent_code TEXT REFERENCES wo_categories (code),
    name TEXT NOT NULL,
    sign_hours INTEGER NOT NULL DEFAULT 4 CHECK (sign_hours > 0),
    reply_days INTEGER NOT NULL DEFAULT 3 CHECK (reply_days >= 0),
    resolve_days INTEGER NOT NULL DEFAULT 5 CHECK (resolve_days >= 0),
    active BOOLEAN NOT NULL DEFAULT TRUE
);

INSERT INTO wo_categories (code, parent_code, name, sign_hours, reply_days, resolve_days) VALUES
    ('environment', NULL, '环境卫生', 4, 3, 5),
    ('environment.garbage', 'environment', '垃圾清运', 2, 1, 2),
    ('environment.sanitation', 'environment', '公共卫生', 4, 2, 5),
    ('facilities', NULL, '市政设施', 4, 3, 5),
    ('facilities.streetlight', 'facilities', '路灯损坏', 4, 2, 5),
    ('facilities.road', 'facilities', '道路破损', 4, 3, 10),
    ('facilities.water', 'facilities', '供水排水', 2, 1, 3),
    ('property', NULL, '物业管理', 4, 3, 5),
    ('property.service', 'property', '物业服务', 4, 3, 5),
    ('property.elevator', 'property', '电梯故障', 2, 1, 2),
    ('social', NULL, '社会保障', 4, 3, 5),
    ('social.assistance', 'social', '低保与救助', 4, 3, 10),
    ('social.elderly', 'social', '养老服务', 4, 2, 5),
    ('social.disability', 'social', '残疾人服务', 4, 3, 5),
    ('safety', NULL, '治安消防', 2, 1, 3),
    ('safety.fire', 'safety', '消防隐患', 1, 1, 2),
    ('safety.order', 'safety', '治安问题', 2, 1, 3),
    ('dispute', NULL, '矛盾纠纷', 4, 3, 13),
    ('dispute.neighbour', 'dispute', '邻里纠纷', 4, 3, 13),
    ('other', NULL, '其他', 4, 3, 5),
    ('other.advice', 'other', '意见建议', 8, 5, 13);

CREATE TABLE work_orders (
    id INTEGER PRIMARY KEY,
    tracking_code TEXT NOT NULL UNIQUE,
    idempotency_key TEXT UNIQUE,
    category_code TEXT NOT NULL REFERENCES wo_categories (code),
    description TEXT NOT NULL,
    lon DOUBLE PRECISION,
    lat DOUBLE PRECISION,
    address TEXT NOT NULL DEFAULT '',
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    unit TEXT NOT NULL DEFAULT '',
    channel TEXT NOT NULL CHECK (channel IN ('portal', 'phone', 'walk_in', 'proxy', 'patrol', 'open311')),
    urgent BOOLEAN NOT NULL DEFAULT FALSE,
    state TEXT NOT NULL,
    reporter_name TEXT NOT NULL DEFAULT '',
    reporter_phone_enc BLOB,
    reporter_phone_masked TEXT,
    reporter_user_id BIGINT,
    extension_pending BOOLEAN NOT NULL DEFAULT FALSE,
    extension_days INTEGER NOT NULL DEFAULT 0,
    merged_into BIGINT,
    sign_by TIMESTAMP,
    reply_by TIMESTAMP,
    resolve_by TIMESTAMP,
    closed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX work_orders_division_code ON work_orders (division_code, id);
CREATE INDEX work_orders_unit_state ON work_orders (unit, state);
CREATE INDEX work_orders_category_created ON work_orders (category_code, created_at);

CREATE TABLE work_order_events (
    id INTEGER PRIMARY KEY,
    order_id BIGINT NOT NULL REFERENCES work_orders (id) ON DELETE CASCADE,
    at TIMESTAMP NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT ''
);
CREATE INDEX work_order_events_order_id ON work_order_events (order_id, id);
