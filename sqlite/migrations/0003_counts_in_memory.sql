-- Outbox schema, version 3: the messages per status are counted when the
-- store opens and kept in memory by its only writer, so no commit writes
-- a counter. Sequences in meta: next_id is saved by purges (ids follow the
-- largest stored otherwise), next_lease is a ceiling saved ahead of use.

DROP TABLE counts;
