-- The OpenID provider's back-channel logout queue (one row per service a
-- citizen's ended SSO session had signed into, kept until delivered) and
-- the services registered at run time with `clau sp`.

-- +goose Up
CREATE TABLE oidc_logouts (
    id              TEXT PRIMARY KEY,
    client_id       TEXT NOT NULL,
    uri             TEXT NOT NULL,
    subject         TEXT NOT NULL,
    sid             TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX oidc_logouts_due ON oidc_logouts (status, next_attempt_at);

CREATE TABLE oidc_clients (
    id          TEXT PRIMARY KEY,
    settings    TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

-- +goose Down
DROP TABLE oidc_clients;
DROP TABLE oidc_logouts;
