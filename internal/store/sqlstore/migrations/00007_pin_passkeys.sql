-- The quick ways to sign in: citizens' PIN services (enabled for a period,
-- renewable) and their passkeys (WebAuthn credentials).

-- +goose Up
CREATE TABLE pin_services (
    citizen_id         TEXT PRIMARY KEY REFERENCES citizens (id),
    personal_code_hash TEXT NOT NULL DEFAULT '',
    enabled_at         BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    enabled_by         TEXT NOT NULL,
    notice_sent_at     BIGINT NOT NULL DEFAULT 0,
    version            BIGINT NOT NULL
);
CREATE INDEX pin_services_expiry ON pin_services (expires_at);

CREATE TABLE passkeys (
    id            TEXT PRIMARY KEY,
    citizen_id    TEXT NOT NULL REFERENCES citizens (id),
    credential_id TEXT NOT NULL,
    name          TEXT NOT NULL,
    credential    TEXT NOT NULL,
    sign_count    BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    last_used_at  BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX passkeys_credential ON passkeys (credential_id);
CREATE INDEX passkeys_citizen ON passkeys (citizen_id);

-- +goose Down
DROP TABLE passkeys;
DROP TABLE pin_services;
