// Package sqlite is the default outbox.Store: one SQLite database file,
// outbox.db, in a data directory, with no server to run.
//
// Open takes an exclusive lock on the directory (ErrLocked when another
// process holds it) and applies the embedded migrations. As no other
// process can hold the directory, claims are held in memory (leases.go):
// a claim only reads, a claimed message keeps its stored row and is shown
// sending while its lease is held, and a process that dies takes its
// claims with it, leaving those messages due.
//
// All writes go through a single writer goroutine that owns the only write
// connection. It takes the first waiting request, drains every other one
// already waiting, runs them in one transaction and commits once: a lone
// write waits for one fsync, a crowd of writers shares them, and there is
// no timer. A commit is made durable by a syncer goroutine that fsyncs the
// WAL file and only then answers the group's callers (synchronous=NORMAL
// plus that fsync): while an earlier commit is still being synced, the
// writer keeps its transaction open and adds the requests that arrive,
// since its own commit could not be synced sooner anyway; and a group of
// outcomes (Complete) alone waits up to 5 ms for another write to share
// its commit, since no caller waits on them. Enqueue, Claim
// and Complete run without a savepoint, whose page copies would cost about
// as much as their own writes: each refuses a bad item before writing
// anything of it, so a statement fails only as the disk or database does,
// and then the whole group fails. Other requests (retry, cancel, purge)
// run in a savepoint each: one that fails is rolled back alone. Reads use
// a pool of read-only connections and never wait for the writer: the
// database runs in WAL mode, and WAL checkpoints run on a connection of
// their own, off the commit path.
//
// Times are stored as Unix nanoseconds. Message bodies live in their own
// table so that the rows claims and listings walk stay small; recipients
// have one row per address and backend leg; the number of messages per
// status is counted when the store opens (one walk of an index) and kept
// in memory by the writer, which only ever changes it.
// Claim, NextDue, listing by status, the oldest pending message and purge
// each walk an index, so their cost does not grow with the queue (claims
// and NextDue also walk past the rows leases hold: as many as deliveries
// under way).
package sqlite
