-- Office schedules, reminders and waiting lists: the weekly opening hours
-- from which an office's slots are made, the days it is closed
-- (holidays, closures), when each appointment's reminder was sent, and
-- the citizens waiting for a place at an office.

-- +goose Up
CREATE TABLE office_hours (
    office_id    TEXT NOT NULL REFERENCES offices (id),
    weekday      INTEGER NOT NULL, -- 0 Sunday .. 6 Saturday
    open_at      TEXT NOT NULL,    -- local HH:MM
    close_at     TEXT NOT NULL,
    slot_minutes INTEGER NOT NULL,
    desks        INTEGER NOT NULL,
    PRIMARY KEY (office_id, weekday),
    CHECK (weekday >= 0 AND weekday <= 6 AND slot_minutes >= 5 AND desks >= 1)
);

CREATE TABLE office_closures (
    office_id  TEXT NOT NULL REFERENCES offices (id),
    day        TEXT NOT NULL, -- local YYYY-MM-DD
    reason     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (office_id, day)
);

-- 0 until the day-before reminder is queued, then when it was.
ALTER TABLE appointments ADD COLUMN reminded_at BIGINT NOT NULL DEFAULT 0;

-- Citizens waiting for a freed place, first come first served.
CREATE TABLE waitlist (
    id         TEXT PRIMARY KEY,
    office_id  TEXT NOT NULL REFERENCES offices (id),
    doc_number TEXT NOT NULL,
    name       TEXT NOT NULL,
    mobile     TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL DEFAULT '',
    language   TEXT NOT NULL,
    status     TEXT NOT NULL, -- waiting, offered
    created_at BIGINT NOT NULL,
    offered_at BIGINT NOT NULL DEFAULT 0
);
-- One place in each office's queue per document.
CREATE UNIQUE INDEX waitlist_live_document ON waitlist (office_id, doc_number) WHERE status = 'waiting';
CREATE INDEX waitlist_queue ON waitlist (office_id, status, created_at);

-- +goose Down
DROP TABLE waitlist;
ALTER TABLE appointments DROP COLUMN reminded_at;
DROP TABLE office_closures;
DROP TABLE office_hours;
