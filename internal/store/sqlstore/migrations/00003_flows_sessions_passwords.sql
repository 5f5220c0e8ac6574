-- Sign-in and activation: flows (login transactions, activations, staff
-- sign-ins) as stored state machines, sessions (citizens' SSO sessions,
-- officers' desk sessions and API tokens), citizens' passwords, and the
-- office that registered each citizen.

-- +goose Up
CREATE TABLE flows (
    id         TEXT PRIMARY KEY,
    kind       TEXT NOT NULL,
    state      TEXT NOT NULL,
    subject    TEXT NOT NULL DEFAULT '',
    data       TEXT NOT NULL DEFAULT '{}',
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX flows_expiry ON flows (expires_at);

-- Only a hash of each session token is kept: a database reader cannot
-- take over a session.
CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    kind         TEXT NOT NULL,
    subject      TEXT NOT NULL,
    loa          TEXT NOT NULL DEFAULT '',
    amr          TEXT NOT NULL DEFAULT '',
    name         TEXT NOT NULL DEFAULT '',
    auth_time    BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    source       TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    revoked_at   BIGINT NOT NULL DEFAULT 0,
    version      BIGINT NOT NULL
);
CREATE INDEX sessions_subject ON sessions (kind, subject);
CREATE INDEX sessions_expiry ON sessions (expires_at);

CREATE TABLE passwords (
    citizen_id TEXT PRIMARY KEY REFERENCES citizens (id),
    hash       TEXT NOT NULL,
    set_at     BIGINT NOT NULL,
    version    BIGINT NOT NULL
);

ALTER TABLE citizens ADD COLUMN office_id TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE citizens DROP COLUMN office_id;
DROP TABLE passwords;
DROP TABLE sessions;
DROP TABLE flows;
