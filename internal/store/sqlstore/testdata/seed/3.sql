-- Data as it stood at migration version 3 (00003_flows_sessions_passwords.sql):
-- a login flow, a citizen's SSO session, a password, and the registering
-- office of the version-1 citizen. Same rules as 1.sql.

INSERT INTO flows (id, kind, state, subject, data, version, created_at, updated_at, expires_at)
VALUES ('fx-flow-1', 'login', 'started', '', '{"min_loa":"substantial"}', 1,
        1767346200000000, 1767346200000000, 1767347100000000);

INSERT INTO sessions (id, kind, subject, loa, amr, name, auth_time, created_at, last_seen_at, expires_at,
                      source, user_agent, revoked_at, version)
VALUES ('fx-session-hash-1', 'citizen', 'fx-citizen-1', 'substantial', 'pwd sms', '', 1767346200000000,
        1767346200000000, 1767346260000000, 1767375000000000, '203.0.113.9', 'Firefox', 0, 1);

INSERT INTO passwords (citizen_id, hash, set_at, version)
VALUES ('fx-citizen-1', '$argon2id$v=19$m=65536,t=3,p=2$fixture$fixture', 1767346200000000, 1);

UPDATE citizens SET office_id = 'fx-office-bcn' WHERE id = 'fx-citizen-1';
