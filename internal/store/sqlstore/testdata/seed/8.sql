-- Data as it stood at migration version 8 (00008_oidc.sql): one
-- back-channel logout waiting for its second attempt.

INSERT INTO oidc_logouts (id, client_id, uri, subject, sid, status, attempts, next_attempt_at, claimed_until,
                          last_error, created_at, sent_at)
VALUES ('fx-logout-1', 'ajuntament', 'https://tramits.example.org/bcl', 'fx-pairwise-sub', 'fx-sid', 'pending', 1,
        1767346260000000, 0, 'answered 503', 1767346200000000, 0);

-- A service registered with `clau sp add`.
INSERT INTO oidc_clients (id, settings, secret_hash, created_at, updated_at)
VALUES ('fx-sp', '{"redirect_uris":["https://sp.example.org/cb"]}', 'k1.fixture-secret-hash', 1767346200000000,
        1767346200000000);
