-- Citizens, offices and officers. Times are Unix microseconds (BIGINT, 0 for
-- none) and civil dates 'YYYY-MM-DD' text, so one SQL text serves SQLite,
-- PostgreSQL and PostgreSQL-compatible distributed databases.

-- +goose Up
CREATE TABLE offices (
    id            TEXT PRIMARY KEY,
    code          TEXT NOT NULL,
    name          TEXT NOT NULL,
    address       TEXT NOT NULL,
    postal_code   TEXT NOT NULL,
    municipality  TEXT NOT NULL,
    province      TEXT NOT NULL,
    phone         TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    opening_hours TEXT NOT NULL DEFAULT '',
    active        BOOLEAN NOT NULL DEFAULT TRUE,
    version       BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX offices_code ON offices (code);

CREATE TABLE officers (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL,
    display_name   TEXT NOT NULL,
    password_hash  TEXT NOT NULL,
    totp_secret    TEXT NOT NULL DEFAULT '',
    totp_last_step BIGINT NOT NULL DEFAULT 0,
    office_id      TEXT NOT NULL REFERENCES offices (id),
    role           TEXT NOT NULL,
    status         TEXT NOT NULL,
    version        BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE UNIQUE INDEX officers_username ON officers (username);
CREATE INDEX officers_office ON officers (office_id);

CREATE TABLE citizens (
    id             TEXT PRIMARY KEY,
    doc_type       TEXT NOT NULL,
    doc_number     TEXT NOT NULL,
    doc_validity   TEXT NOT NULL DEFAULT '',
    doc_permanent  BOOLEAN NOT NULL DEFAULT FALSE,
    support_number TEXT NOT NULL DEFAULT '',
    given_name     TEXT NOT NULL,
    first_surname  TEXT NOT NULL,
    second_surname TEXT NOT NULL DEFAULT '',
    birth_date     TEXT NOT NULL,
    nationality    TEXT NOT NULL,
    email          TEXT NOT NULL,
    mobile         TEXT NOT NULL,
    language       TEXT NOT NULL,
    level          TEXT NOT NULL,
    channel        TEXT NOT NULL,
    status         TEXT NOT NULL,
    version        BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
-- One live record per document and one document per mobile number; a
-- deregistered record keeps its history without blocking re-registration.
CREATE UNIQUE INDEX citizens_live_document ON citizens (doc_number) WHERE status <> 'deregistered';
CREATE UNIQUE INDEX citizens_live_mobile ON citizens (mobile) WHERE status <> 'deregistered';

-- +goose Down
DROP TABLE citizens;
DROP TABLE officers;
DROP TABLE offices;
