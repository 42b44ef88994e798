// Package sqlite is the default outbox.Store: one SQLite database file in
// a data directory, no server to run.
//
// Open takes an exclusive lock on the directory, applies the embedded
// migrations and returns to the queue every message a dead predecessor left
// in sending. All writes go through a single writer goroutine that commits
// whatever requests are waiting together, each in its own savepoint: a
// lone write waits for one fsync, a crowd of writers shares them. Reads use
// a separate pool of read-only connections and never wait for the writer
// (the database runs in WAL mode with synchronous=FULL).
package sqlite
