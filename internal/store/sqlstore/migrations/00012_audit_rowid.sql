-- On SQLite a BIGINT PRIMARY KEY is not the rowid: audit_events kept its
-- rows under a hidden rowid and its sequence numbers in a separate index,
-- so every append wrote one more page than it needed. INTEGER PRIMARY KEY
-- makes the sequence number the rowid. The table is rebuilt with the same
-- columns, rows and indexes. PostgreSQL has no such split; its override
-- of this file does nothing.

-- +goose Up
CREATE TABLE audit_events_new (
    seq       INTEGER PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    office    TEXT NOT NULL,
    source    TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    details   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
INSERT INTO audit_events_new SELECT seq, at, actor, action, subject, office, source, outcome, details, prev_hash, hash
    FROM audit_events ORDER BY seq;
DROP TABLE audit_events;
ALTER TABLE audit_events_new RENAME TO audit_events;
CREATE INDEX audit_events_subject ON audit_events (subject, seq);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);

-- +goose Down
CREATE TABLE audit_events_old (
    seq       BIGINT PRIMARY KEY,
    at        BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    subject   TEXT NOT NULL,
    office    TEXT NOT NULL,
    source    TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    details   TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
);
INSERT INTO audit_events_old SELECT seq, at, actor, action, subject, office, source, outcome, details, prev_hash, hash
    FROM audit_events ORDER BY seq;
DROP TABLE audit_events;
ALTER TABLE audit_events_old RENAME TO audit_events;
CREATE INDEX audit_events_subject ON audit_events (subject, seq);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);
