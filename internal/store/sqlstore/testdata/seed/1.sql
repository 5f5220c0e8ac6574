-- Data as it stood at migration version 1 (00001_registry.sql): offices,
-- officers and citizens. TestUpgradeFromEveryVersion inserts it right after
-- migrating to version 1, migrates to the latest version and reads every row
-- back through the store; the values it expects are in migrate_test.go.
--
-- Portable SQL only, as it runs on SQLite and PostgreSQL alike: no DEFAULT
-- in VALUES (SQLite lacks it), so rows that rely on column defaults leave
-- those columns out of their own INSERT. Times are Unix microseconds
-- (1767346200000000 is 2026-01-02T09:30:00Z), dates 'YYYY-MM-DD'.

INSERT INTO offices (id, code, name, address, postal_code, municipality, province,
    phone, email, opening_hours, active, version, created_at, updated_at)
VALUES ('fx-office-bcn', 'BCN-01', 'Oficina Barcelona Centre', 'Via Laietana 1', '08003',
    'Barcelona', 'Barcelona', '+34930000001', 'bcn01@example.org', 'Mon-Fri 09:00-14:00',
    TRUE, 3, 1767346200000000, 1767350000000000);

-- A closed office that relies on the defaults of phone, email, opening_hours.
INSERT INTO offices (id, code, name, address, postal_code, municipality, province,
    active, version, created_at, updated_at)
VALUES ('fx-office-ssg', 'SSG-02', 'Oficina Donostia', 'Calle Mayor 2', '20003',
    'Donostia / San Sebastián', 'Gipuzkoa', FALSE, 1, 1767346200000000, 1767346200000000);

INSERT INTO officers (id, username, display_name, password_hash, totp_secret, totp_last_step,
    office_id, role, status, version, created_at, updated_at)
VALUES ('fx-officer-1', 'mgarcia', 'Maria Garcia',
    '$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo',
    'v1.sealed-totp-seed', 58911540, 'fx-office-bcn', 'supervisor', 'active',
    2, 1767346200000000, 1767349800000000);

-- A disabled officer who never enrolled TOTP (totp_* defaults).
INSERT INTO officers (id, username, display_name, password_hash,
    office_id, role, status, version, created_at, updated_at)
VALUES ('fx-officer-2', 'ietxeberria', 'Iker Etxeberria',
    '$argon2id$v=19$m=65536,t=3,p=2$c2FsdDI$aGFzaDI',
    'fx-office-ssg', 'officer', 'disabled', 1, 1767346200000000, 1767346200000000);

-- An active citizen; a deregistered record and the live record that
-- re-registered the same document and mobile (the partial unique indexes
-- allow it); an NIE holder with a support number.
INSERT INTO citizens (id, doc_type, doc_number, doc_validity, doc_permanent, support_number,
    given_name, first_surname, second_surname, birth_date, nationality, email, mobile,
    language, level, channel, status, version, created_at, updated_at)
VALUES
    ('fx-citizen-1', 'DNI', '12345678Z', '2031-06-30', FALSE, '',
     'Núria', 'Ibáñez', 'Puig', '1985-02-28', 'ES', 'nuria@example.org', '+34600000001',
     'ca', 'advanced', 'office', 'active', 4, 1767346200000000, 1767360000000000),
    ('fx-citizen-2-old', 'DNI', '87654321X', '2027-01-15', FALSE, '',
     'Jordi', 'Ferrer', 'Soler', '1970-12-01', 'ES', 'jordi@example.org', '+34600000002',
     'es', 'basic', 'letter', 'deregistered', 2, 1767000000000000, 1767100000000000),
    ('fx-citizen-2', 'DNI', '87654321X', '2035-01-15', FALSE, '',
     'Jordi', 'Ferrer', 'Soler', '1970-12-01', 'ES', 'jordi.ferrer@example.org', '+34600000002',
     'en', 'advanced', 'office', 'pending', 1, 1767346200000000, 1767346200000000),
    ('fx-citizen-4', 'NIE', 'X1234567L', '', FALSE, 'E12345678',
     'Anna', 'Novak', '', '1992-07-04', 'PL', 'anna@example.org', '+34600000004',
     'en', 'advanced', 'office', 'active', 1, 1767346200000000, 1767346200000000);

-- A permanent DNI (doc_validity holds the issue date) that relies on the
-- defaults of support_number and second_surname.
INSERT INTO citizens (id, doc_type, doc_number, doc_validity, doc_permanent,
    given_name, first_surname, birth_date, nationality, email, mobile,
    language, level, channel, status, version, created_at, updated_at)
VALUES ('fx-citizen-3', 'DNI', '11111111H', '1999-03-10', TRUE,
    'Carmen', 'López', '1940-01-01', 'ES', 'carmen@example.org', '+34600000003',
    'es', 'advanced', 'certificate', 'suspended', 7, 1767346200000000, 1767346200000000);
