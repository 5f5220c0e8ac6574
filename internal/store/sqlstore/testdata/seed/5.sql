-- Data as it stood at migration version 5 (00005_appointments.sql): a
-- slot with one booked appointment.

INSERT INTO slots (id, office_id, starts_at, ends_at, capacity, booked, closed, version)
VALUES ('fx-slot-1', 'fx-office-bcn', 1767600000000000, 1767600900000000, 2, 1, FALSE, 2);

INSERT INTO appointments (id, slot_id, office_id, doc_number, name, mobile, email, language, ref_hash, status,
                          version, created_at, updated_at)
VALUES ('fx-appt-1', 'fx-slot-1', 'fx-office-bcn', '12345678Z', 'Núria Ibáñez', '+34600000001', '', 'ca',
        'k1.fixture-ref-hash', 'booked', 1, 1767346200000000, 1767346200000000);
