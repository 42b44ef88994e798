// Package sqlite is the default outbox.Store: one SQLite database file,
// outbox.db, in a data directory, with no server to run.
//
// Open takes an exclusive lock on the directory (ErrLocked when another
// process holds it), applies the embedded migrations and returns to the
// queue, due at once, every message a dead predecessor left sending.
//
// All writes go through a single writer goroutine that owns the only write
// connection. It takes the first waiting request, drains every other one
// already waiting, runs them in one transaction, each in its own
// savepoint, and commits once: a lone write waits for one fsync, a crowd of
// writers shares them, and there is no timer. A failing request is rolled
// back to its savepoint and fails alone. Complete runs without a savepoint,
// whose page copies would cost about as much as its own writes: it writes
// nothing unless the message is held under its lease, and a statement
// failing after that fails the whole group. Reads use a pool of read-only
// connections and never wait for the writer: the database runs in WAL mode,
// and WAL checkpoints run on a connection of their own, off the commit
// path. A commit is made durable by a syncer goroutine that fsyncs the WAL
// file and only then answers the group's callers (synchronous=NORMAL plus
// that fsync): the writer runs the next group while the disk flushes the
// last, and one fsync covers every group committed meanwhile.
//
// Times are stored as Unix nanoseconds. Message bodies live in their own
// table so that the rows claims and listings walk stay small; recipients
// have one row per address and backend leg; the number of messages per
// status is kept in a counts table in the same transaction as every write.
// Claim, NextDue, listing by status, the oldest pending message and purge
// each walk an index, so their cost does not grow with the queue.
package sqlite
