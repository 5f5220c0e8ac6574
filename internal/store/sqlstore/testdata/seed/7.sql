-- Data as it stood at migration version 7 (00007_pin_passkeys.sql): a PIN
-- service with a personal code and its expiry notice sent, and a passkey.

INSERT INTO pin_services (citizen_id, personal_code_hash, enabled_at, expires_at, enabled_by, notice_sent_at, version)
VALUES ('fx-citizen-1', 'k1.fixture-personal-code', 1767346200000000, 1798882200000000, 'officer:fx-officer-1',
        1797586200000000, 2);

INSERT INTO passkeys (id, citizen_id, credential_id, name, credential, sign_count, created_at, last_used_at)
VALUES ('fx-passkey-1', 'fx-citizen-1', 'AQIDBA', 'Mòbil', '{"id":"AQIDBA"}', 7, 1767346200000000, 0);
