-- Data as it stood at migration version 4 (00004_office_directory.sql):
-- an office's services and accessibility notes.

UPDATE offices SET services = 'Registre Clau; renovació DNI', accessibility = 'Accés sense graons; bucle magnètic'
WHERE id = 'fx-office-bcn';
