-- The public office directory: what each office offers and how
-- accessible it is.

-- +goose Up
ALTER TABLE offices ADD COLUMN services TEXT NOT NULL DEFAULT '';
ALTER TABLE offices ADD COLUMN accessibility TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE offices DROP COLUMN accessibility;
ALTER TABLE offices DROP COLUMN services;
