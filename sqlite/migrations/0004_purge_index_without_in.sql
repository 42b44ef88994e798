-- Outbox schema, version 4: messages_purge's condition as comparisons.
--
-- SQLite checks a partial index's condition on every row a statement
-- writes; an IN list of four values is checked through a temporary table
-- built for each statement, which made every insert and status change of
-- a message pay for one. The same condition written with OR is checked by
-- plain comparisons. Queries that use the index repeat it word for word.

DROP INDEX messages_purge;

CREATE INDEX messages_purge ON messages (updated_at)
	WHERE status = 'sent' OR status = 'failed' OR status = 'expired' OR status = 'cancelled';
