-- Outbox schema, version 1.
--
-- Times are integer Unix nanoseconds, UTC; NULL where a time is unset.
-- messages keeps one small row per message; the bytes live in bodies.

CREATE TABLE messages (
	id              INTEGER PRIMARY KEY,
	message_id      TEXT    NOT NULL,
	status          TEXT    NOT NULL,
	sender          TEXT    NOT NULL,
	subject         TEXT    NOT NULL,
	priority        INTEGER NOT NULL,
	backend         TEXT    NOT NULL,
	tags            TEXT,              -- JSON array, NULL when none
	metadata        TEXT,              -- JSON object, NULL when none
	idempotency_key TEXT,              -- NULL when none
	size            INTEGER NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	created_at      INTEGER NOT NULL,
	updated_at      INTEGER NOT NULL,
	lifetime_start  INTEGER NOT NULL,
	send_at         INTEGER,
	expires_at      INTEGER,
	next_attempt_at INTEGER,           -- pending messages only
	-- due_at is when a pending message can be claimed: next_attempt_at for
	-- queued and deferred, the lease expiry for sending; NULL when final.
	due_at          INTEGER,
	last_error      TEXT    NOT NULL DEFAULT '',
	lease           INTEGER NOT NULL DEFAULT 0
);

-- Claim: per priority, the earliest due first.
CREATE INDEX messages_due ON messages (priority, due_at, id)
	WHERE status IN ('queued', 'deferred', 'sending');

-- Listing by status, newest first, and the oldest pending message.
CREATE INDEX messages_status ON messages (status, id);

-- Purge of final messages by age.
CREATE INDEX messages_purge ON messages (updated_at)
	WHERE status IN ('sent', 'failed', 'expired', 'cancelled');

CREATE UNIQUE INDEX messages_idempotency ON messages (idempotency_key)
	WHERE idempotency_key IS NOT NULL;

CREATE TABLE bodies (
	id  INTEGER PRIMARY KEY,           -- messages.id
	raw BLOB    NOT NULL
);

-- One row per recipient and backend leg ('' for a single backend). pos
-- keeps the order recipients were given in.
CREATE TABLE recipients (
	message_id     INTEGER NOT NULL,
	leg            TEXT    NOT NULL,
	addr           TEXT    NOT NULL,
	pos            INTEGER NOT NULL,
	status         TEXT    NOT NULL,
	reply_code     INTEGER NOT NULL DEFAULT 0,
	reply_enhanced TEXT    NOT NULL DEFAULT '',
	reply_text     TEXT    NOT NULL DEFAULT '',
	updated_at     INTEGER,
	PRIMARY KEY (message_id, leg, addr)
) WITHOUT ROWID;

-- The attempt log, seq counting from 1 per message.
CREATE TABLE attempts (
	message_id     INTEGER NOT NULL,
	seq            INTEGER NOT NULL,
	at             INTEGER NOT NULL,
	backend        TEXT    NOT NULL,
	duration       INTEGER NOT NULL,
	class          TEXT    NOT NULL,
	reply_code     INTEGER NOT NULL DEFAULT 0,
	reply_enhanced TEXT    NOT NULL DEFAULT '',
	reply_text     TEXT    NOT NULL DEFAULT '',
	recipients     TEXT    NOT NULL,   -- JSON array of per-recipient results
	PRIMARY KEY (message_id, seq)
) WITHOUT ROWID;

-- Messages per status, kept in the transaction of every write.
CREATE TABLE counts (
	status TEXT    PRIMARY KEY,
	n      INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO counts (status, n) VALUES
	('queued', 0), ('sending', 0), ('deferred', 0),
	('sent', 0), ('failed', 0), ('expired', 0), ('cancelled', 0);

-- Sequences and housekeeping values: next_id (message ids, never reused),
-- next_lease (claim tokens), ping (written by Ping).
CREATE TABLE meta (
	key   TEXT    PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;

INSERT INTO meta (key, value) VALUES ('next_id', 1), ('next_lease', 1), ('ping', 0);
