-- Data as it stood at migration version 10 (00010_password_notices.sql):
-- the expiry notice of fx-citizen-1's password went out.

UPDATE passwords SET notice_at = 1765000000000000 WHERE citizen_id = 'fx-citizen-1';
