-- Data as it stood at migration version 6 (00006_office_schedules.sql):
-- office hours on Mondays, a closure, a reminded appointment and a
-- citizen on the waiting list.

INSERT INTO office_hours (office_id, weekday, open_at, close_at, slot_minutes, desks)
VALUES ('fx-office-bcn', 1, '09:00', '14:00', 15, 2);

INSERT INTO office_closures (office_id, day, reason, created_at)
VALUES ('fx-office-bcn', '2026-12-25', 'Nadal', 1767346200000000);

INSERT INTO slots (id, office_id, starts_at, ends_at, capacity, booked, closed, version)
VALUES ('fx-slot-6', 'fx-office-bcn', 1767686400000000, 1767687300000000, 2, 1, FALSE, 2);

INSERT INTO appointments (id, slot_id, office_id, doc_number, name, mobile, email, language, ref_hash, status,
                          version, created_at, updated_at, reminded_at)
VALUES ('fx-appt-6', 'fx-slot-6', 'fx-office-bcn', '87654321X', 'Pere Vila', '', 'pere@example.org', 'es',
        'k1.fixture-ref-hash-6', 'booked', 1, 1767346200000000, 1767346200000000, 1767600000000000);

INSERT INTO waitlist (id, office_id, doc_number, name, mobile, email, language, status, created_at)
VALUES ('fx-wait-6', 'fx-office-bcn', '11111111H', 'Anna Vidal', '+34600000006', '', 'ca', 'waiting', 1767346200000000);
