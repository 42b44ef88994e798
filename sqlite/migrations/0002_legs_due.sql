-- Outbox schema, version 2: pending legs of final messages.
--
-- A combined backend keeps delivery state per leg. A message whose
-- recipients are all final can still have pending legs (a fanout's
-- secondary failed while the primary accepted): it keeps its final status
-- and stays claimable for those legs. due_at now means: when the message
-- can be claimed — next_attempt_at for queued and deferred, the lease
-- expiry for sending and for a final message claimed for its legs, and
-- when its legs are due for a final message with pending legs; NULL when
-- nothing is left to deliver. messages_due covers every row with a due_at,
-- so claims find due legs by the same index walk as due messages.

DROP INDEX messages_due;

CREATE INDEX messages_due ON messages (priority, due_at, id)
	WHERE due_at IS NOT NULL;
