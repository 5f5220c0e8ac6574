-- Appointments at registration offices: bookable slots with a capacity
-- (desks per slot) and the citizens' appointments in them.

-- +goose Up
CREATE TABLE slots (
    id        TEXT PRIMARY KEY,
    office_id TEXT NOT NULL REFERENCES offices (id),
    starts_at BIGINT NOT NULL,
    ends_at   BIGINT NOT NULL,
    capacity  INTEGER NOT NULL,
    booked    INTEGER NOT NULL DEFAULT 0,
    closed    BOOLEAN NOT NULL DEFAULT FALSE,
    version   BIGINT NOT NULL,
    -- The database itself refuses overbooking, whatever the code does.
    CHECK (booked >= 0 AND booked <= capacity)
);
CREATE UNIQUE INDEX slots_office_start ON slots (office_id, starts_at);

CREATE TABLE appointments (
    id         TEXT PRIMARY KEY,
    slot_id    TEXT NOT NULL REFERENCES slots (id),
    office_id  TEXT NOT NULL,
    doc_number TEXT NOT NULL,
    name       TEXT NOT NULL,
    mobile     TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL DEFAULT '',
    language   TEXT NOT NULL,
    ref_hash   TEXT NOT NULL,
    status     TEXT NOT NULL,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- One live appointment per document.
CREATE UNIQUE INDEX appointments_live_document ON appointments (doc_number) WHERE status = 'booked';
CREATE UNIQUE INDEX appointments_ref ON appointments (ref_hash);
CREATE INDEX appointments_slot ON appointments (slot_id);

-- +goose Down
DROP TABLE appointments;
DROP TABLE slots;
