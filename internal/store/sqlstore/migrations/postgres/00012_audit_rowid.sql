-- PostgreSQL keeps no rowid: audit_events' primary key is already the only
-- key of its rows, so there is nothing to rebuild (see the portable file).

-- +goose Up
SELECT 1;

-- +goose Down
SELECT 1;
