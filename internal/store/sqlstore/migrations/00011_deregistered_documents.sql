-- Finding whether a document was ever deregistered (a letter request from a
-- citizen who renounced is refused) must not scan the registry: the two
-- document indexes are partial on live records, so the deregistered ones
-- get their own.

-- +goose Up
CREATE INDEX citizens_deregistered_document ON citizens (doc_number) WHERE status = 'deregistered';

-- +goose Down
DROP INDEX citizens_deregistered_document;
