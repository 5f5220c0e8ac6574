-- Office schedules and appointment reminders: the weekly opening hours
-- from which an office's slots are made, the days it is closed
-- (holidays, closures), and when each appointment's reminder was sent.

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

-- +goose Down
ALTER TABLE appointments DROP COLUMN reminded_at;
DROP TABLE office_closures;
DROP TABLE office_hours;
