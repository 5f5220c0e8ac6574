-- Data as it stood at migration version 11 (00011_deregistered_documents.sql):
-- Anna Novak's NIE had an earlier record, which she renounced.

INSERT INTO citizens (id, doc_type, doc_number, doc_validity, doc_permanent, support_number,
    given_name, first_surname, second_surname, birth_date, nationality, email, mobile,
    language, level, channel, status, version, created_at, updated_at)
VALUES ('fx-citizen-4-old', 'NIE', 'X1234567L', '', FALSE, 'E00000001',
    'Anna', 'Novak', '', '1992-07-04', 'PL', 'anna.old@example.org', '+34600000044',
    'en', 'basic', 'letter', 'deregistered', 3, 1767000000000000, 1767100000000000);
