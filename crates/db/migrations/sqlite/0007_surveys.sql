-- Satisfaction surveys (满意度调查): questionnaires owned by a division, the
-- divisions they target, and the answers collected on the resident portal or
-- entered by staff from paper forms. Answers carry no personal data.

CREATE TABLE surveys (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    intro TEXT NOT NULL DEFAULT '',
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    state TEXT NOT NULL CHECK (state IN ('draft', 'open', 'closed')),
    starts_at TIMESTAMP,
    ends_at TIMESTAMP,
    created_by BIGINT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX surveys_division_code ON surveys (division_code, id);
CREATE INDEX surveys_state ON surveys (state, id);

CREATE TABLE survey_questions (
    survey_id BIGINT NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    position INTEGER NOT NULL CHECK (position BETWEEN 1 AND 50),
    kind TEXT NOT NULL CHECK (kind IN ('single', 'multiple', 'scale', 'text')),
    title TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '[]',
    max_choices INTEGER,
    required BOOLEAN NOT NULL DEFAULT TRUE,
    PRIMARY KEY (survey_id, position)
);

CREATE TABLE survey_targets (
    survey_id BIGINT NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    PRIMARY KEY (survey_id, division_code)
);
CREATE INDEX survey_targets_division_code ON survey_targets (division_code, survey_id);

CREATE TABLE survey_responses (
    id INTEGER PRIMARY KEY,
    survey_id BIGINT NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
    division_code TEXT NOT NULL REFERENCES divisions (code) ON UPDATE CASCADE,
    channel TEXT NOT NULL CHECK (channel IN ('portal', 'paper')),
    entered_by BIGINT,
    nonce TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX survey_responses_survey_division ON survey_responses (survey_id, division_code);
CREATE INDEX survey_responses_created ON survey_responses (created_at, division_code);

CREATE TABLE survey_answers (
    response_id BIGINT NOT NULL REFERENCES survey_responses (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (response_id, position)
);
