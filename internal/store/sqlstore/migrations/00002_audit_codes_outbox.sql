-- The hash-chained audit trail, one-time codes, throttling counters and the
-- notification outbox.

-- +goose Up
CREATE TABLE audit_events (
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
CREATE INDEX audit_events_subject ON audit_events (subject, seq);
CREATE INDEX audit_events_actor ON audit_events (actor, seq);

-- The chain head: one row, locked by every append so that appenders in any
-- number of processes form one chain.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '');

CREATE TABLE codes (
    id           TEXT PRIMARY KEY,
    purpose      TEXT NOT NULL,
    subject      TEXT NOT NULL,
    hash         TEXT NOT NULL,
    expires_at   BIGINT NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    created_at   BIGINT NOT NULL,
    consumed_at  BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX codes_subject ON codes (purpose, subject);
CREATE INDEX codes_expiry ON codes (expires_at);

CREATE TABLE counters (
    ckey         TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL,
    lockouts     INTEGER NOT NULL,
    version      BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX counters_updated ON counters (updated_at);

CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    channel         TEXT NOT NULL,
    recipient       TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    language        TEXT NOT NULL,
    event_key       TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    driver          TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX outbox_event ON outbox (event_key);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_created ON outbox (created_at);

-- +goose Down
DROP TABLE outbox;
DROP TABLE counters;
DROP TABLE codes;
DROP TABLE audit_head;
DROP TABLE audit_events;
