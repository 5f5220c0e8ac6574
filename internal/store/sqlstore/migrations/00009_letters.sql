-- Registration by letter: the administration's reference registry (kept
-- apart from registered citizens) and the letters posted from it.

-- +goose Up
CREATE TABLE reference_records (
    doc_number     TEXT PRIMARY KEY,
    doc_type       TEXT NOT NULL,
    doc_validity   TEXT NOT NULL DEFAULT '',
    doc_permanent  BOOLEAN NOT NULL DEFAULT FALSE,
    support_number TEXT NOT NULL DEFAULT '',
    given_name     TEXT NOT NULL,
    first_surname  TEXT NOT NULL,
    second_surname TEXT NOT NULL DEFAULT '',
    birth_date     TEXT NOT NULL,
    nationality    TEXT NOT NULL DEFAULT '',
    address_line1  TEXT NOT NULL,
    address_line2  TEXT NOT NULL DEFAULT '',
    postal_code    TEXT NOT NULL,
    municipality   TEXT NOT NULL,
    province       TEXT NOT NULL,
    import_id      TEXT NOT NULL,
    version        BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);

CREATE TABLE letters (
    id          TEXT PRIMARY KEY,
    citizen_id  TEXT NOT NULL REFERENCES citizens (id),
    language    TEXT NOT NULL,
    recipient   TEXT NOT NULL,
    address     TEXT NOT NULL,
    code_sealed TEXT NOT NULL DEFAULT '',
    expires_at  BIGINT NOT NULL,
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    sent_at     BIGINT NOT NULL DEFAULT 0,
    version     BIGINT NOT NULL
);
CREATE INDEX letters_citizen ON letters (citizen_id, created_at);
CREATE INDEX letters_status ON letters (status, created_at);

-- +goose Down
DROP TABLE letters;
DROP TABLE reference_records;
