-- Data as it stood at migration version 9 (00009_letters.sql): a reference
-- record and a queued registration letter for fx-citizen-1.

INSERT INTO reference_records (doc_number, doc_type, doc_validity, doc_permanent, support_number, given_name,
    first_surname, second_surname, birth_date, nationality, address_line1, address_line2, postal_code, municipality, province,
    import_id, version, created_at, updated_at)
VALUES ('12345678Z', 'DNI', '2031-06-30', FALSE, '', 'Núria', 'Ibáñez', 'Puig', '1980-02-29', 'ES',
    'Carrer de la Pau 3, 2n 1a', '', '08001', 'Barcelona', 'Barcelona', 'fx-import-1', 2,
    1767346200000000, 1767350000000000);

INSERT INTO letters (id, citizen_id, language, recipient, address, code_sealed, expires_at, status, created_at,
    sent_at, version)
VALUES ('fx-letter-1', 'fx-citizen-1', 'ca', 'Núria Ibáñez Puig', 'Carrer de la Pau 3, 2n 1a
08001 Barcelona', 'v1.sealed-letter-code', 1769938200000000, 'queued', 1767346200000000, 0, 1);
