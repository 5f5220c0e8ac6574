-- Password expiry: when the "your password expires soon" notice went for
-- the password as set (0: not yet; a new password clears it), and an
-- index to find the passwords due for one by when they were set.

-- +goose Up
ALTER TABLE passwords ADD COLUMN notice_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX passwords_notice ON passwords (notice_at, set_at);

-- +goose Down
DROP INDEX passwords_notice;
ALTER TABLE passwords DROP COLUMN notice_at;
