-- Data as it stood at migration version 2 (00002_audit_codes_outbox.sql):
-- the audit trail, one-time codes, throttling counters and the outbox. It is
-- inserted after 1.sql, so it may refer to that file's rows. Same rules as
-- 1.sql: portable SQL, Unix-microsecond times, no DEFAULT in VALUES.

-- Two chained audit events, and the head row (created by the migration)
-- moved to the second. The hashes are placeholders: the store keeps them,
-- only internal/audit computes them.
INSERT INTO audit_events (seq, at, actor, action, subject, office, source, outcome, details, prev_hash, hash)
VALUES
    (1, 1767346200000000, 'officer:fx-officer-1', 'citizen.register', 'citizen:fx-citizen-1',
     'BCN-01', '203.0.113.9', 'ok', '{"channel":"office","document":"****5678Z"}',
     '', 'aaaa000000000000000000000000000000000000000000000000000000000001'),
    (2, 1767346260000000, 'citizen:fx-citizen-1', 'login.fail', 'citizen:fx-citizen-1',
     '', '198.51.100.7', 'denied', '{}',
     'aaaa000000000000000000000000000000000000000000000000000000000001',
     'aaaa000000000000000000000000000000000000000000000000000000000002');
UPDATE audit_head SET seq = 2, hash = 'aaaa000000000000000000000000000000000000000000000000000000000002'
WHERE id = 1;

-- An activation code already used, and the live one that replaced it.
INSERT INTO codes (id, purpose, subject, hash, expires_at, attempts, max_attempts, created_at, consumed_at)
VALUES ('fx-code-old', 'activation', 'fx-citizen-2', 'hmac:old', 1767432600000000, 1, 5,
    1767346200000000, 1767346500000000);
INSERT INTO codes (id, purpose, subject, hash, expires_at, max_attempts, created_at)
VALUES ('fx-code-live', 'activation', 'fx-citizen-2', 'hmac:live', 1767433200000000, 5,
    1767346800000000);

INSERT INTO counters (ckey, failures, window_start, locked_until, lockouts, version, updated_at)
VALUES ('login:doc:12345678Z', 3, 1767346200000000, 1767346500000000, 1, 4, 1767346260000000);

-- A message sent and one waiting for a second attempt.
INSERT INTO outbox (id, channel, recipient, subject, body, language, event_key, status, attempts,
    next_attempt_at, claimed_until, last_error, driver, created_at, sent_at)
VALUES ('fx-msg-1', 'email', 'nuria@example.org', 'Benvinguda a Clau', 'Hola Núria,',
    'ca', 'citizen.register:fx-citizen-1', 'sent', 1,
    1767346200000000, 0, '', 'smtp', 1767346200000000, 1767346205000000);
INSERT INTO outbox (id, channel, recipient, subject, body, language, event_key, status, attempts,
    next_attempt_at, last_error, created_at)
VALUES ('fx-msg-2', 'sms', '+34600000002', '', 'Your Clau activation code is in the letter.',
    'en', 'citizen.register:fx-citizen-2', 'pending', 1,
    1767346860000000, 'provider timeout', 1767346800000000);
