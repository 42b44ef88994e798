package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"sync/atomic"

	"modernc.org/sqlite"
)

// checkpointPages is how many pages the writer appends to the WAL before
// a checkpoint copies them into the database file: 8 MiB of 16 KiB pages.
const checkpointPages = 512

// checkpointer copies WAL pages into the database file on a connection of
// its own, so that commits do not wait for it. SQLite's own
// auto-checkpoint, which would run inside a commit, is off.
//
// A checkpoint that runs while commits go on cannot reach the end of the
// WAL, and a WAL is only rewound from its start once fully copied; so
// after each background pass the writer copies the few frames committed
// meanwhile itself, between two transactions (writer.afterCommit).
type checkpointer struct {
	kick   chan struct{}
	done   chan struct{}
	passes atomic.Int64
	// pass runs one checkpoint; tests replace it before the first kick.
	pass func() error
}

// newCheckpointer starts a checkpointer on db (one connection).
func newCheckpointer(db *sql.DB) *checkpointer {
	c := &checkpointer{kick: make(chan struct{}, 1), done: make(chan struct{})}
	c.pass = func() error { return checkpoint(context.Background(), db) }
	go c.loop()
	return c
}

// loop runs a passive checkpoint per kick. A failed pass is left to the
// next one: the WAL keeps every page until then.
func (c *checkpointer) loop() {
	defer close(c.done)
	for range c.kick {
		c.pass()
		c.passes.Add(1)
	}
}

// stop ends the loop; the writer, the only sender, must have stopped.
func (c *checkpointer) stop() {
	close(c.kick)
	<-c.done
}

// checkpointRunner is a *sql.DB or a *sql.Conn.
type checkpointRunner interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// checkpoint runs a passive checkpoint: it copies what it can without
// waiting for readers or the writer.
func checkpoint(ctx context.Context, db checkpointRunner) error {
	var busy, logPages, copied int
	if err := db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logPages, &copied); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}

// walPagesWritten returns the number of pages the write connection
// appended to the WAL since the last call.
func (w *writer) walPagesWritten() int {
	n := 0
	w.conn.Raw(func(dc any) error {
		if st, ok := dc.(sqlite.DBStatus); ok {
			n, _, _ = st.Status(sqlite.DBStatusCacheWrite, true)
		}
		return nil
	})
	return n
}

// countsWALPages reports whether the driver tells how many pages a
// connection wrote, which afterCommit needs to schedule checkpoints.
func countsWALPages(conn *sql.Conn) bool {
	ok := false
	conn.Raw(func(dc any) error {
		_, ok = dc.(sqlite.DBStatus)
		return nil
	})
	return ok
}

// afterCommit schedules checkpoints: a background pass once enough pages
// were appended, then, when that pass is done, the tail in the writer. A
// failed checkpoint leaves its pages in the WAL for the next one. It
// reports whether the commit wrote pages (true when pages are not
// counted).
func (w *writer) afterCommit() bool {
	if w.ckpt == nil {
		return true
	}
	pages := w.walPagesWritten()
	w.walPages += pages
	switch {
	case w.ckptPending && w.ckpt.passes.Load() > w.ckptSeen:
		checkpoint(context.Background(), w.conn)
		w.walPages, w.ckptPending = 0, false
	case !w.ckptPending && w.walPages >= checkpointPages:
		w.ckptSeen, w.ckptPending = w.ckpt.passes.Load(), true
		w.ckpt.kick <- struct{}{}
	}
	return pages > 0
}
