package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outboxmail/outbox"
)

// ErrClosed is returned by the operations of a closed Store.
var ErrClosed = errors.New("sqlite store is closed")

// Request states: a caller may abandon a waiting request; the writer runs
// only those it picks first.
const (
	stateWaiting int32 = iota
	statePicked
	stateAbandoned
)

// request is one caller's write: fn runs inside its own savepoint of a
// group transaction, or without one when bare is set.
type request struct {
	fn   func(*tx) error
	bare bool
	lazy bool // may wait a little for company (see gather)
	// buffered requests add rows to the transaction's buffer (tx.rows),
	// which consecutive ones share; any other request flushes it first.
	buffered bool
	// keepsDue requests lower the writer's due mark for every message
	// they make due (see due.go); any other request makes it unknown.
	keepsDue bool
	state    atomic.Int32
	err      error
	done     chan struct{}
}

// writer owns the only write connection. It runs group commits: it takes
// the first waiting request, drains every other one already waiting (up to
// maxGroup), runs them in one transaction, commits once and answers them
// all. There is no timer: a lone write commits at once.
type writer struct {
	conn     *sql.Conn
	stmts    map[string]*sql.Stmt
	inserts  map[insertKey]string // multi-row INSERTs by table and rows
	maxGroup int
	lazyWait time.Duration
	reqs     chan *request

	mu     sync.RWMutex // held for reading while sending on reqs
	closed bool
	done   chan struct{}

	commits atomic.Int64
	ran     atomic.Int64 // requests run, committed or not

	// sync answers the requests of committed groups once they are on
	// disk.
	sync *syncer

	// Checkpoint scheduling (see checkpointer), owned by the writer
	// goroutine.
	ckpt        *checkpointer
	walPages    int
	ckptPending bool
	ckptSeen    int64

	// Sequences, owned by the writer goroutine. Ids are never reused:
	// the next one follows the largest stored, and purges, the only
	// deletes, save it in meta first. Lease tokens are saved in meta as a
	// ceiling, leaseBlock ahead, whenever they reach the saved one.
	nextID, nextLease int64
	leaseCeiling      int64

	// counts are the messages per status, read at open and moved by each
	// commit.
	countsMu sync.Mutex
	counts   counts

	// leases are the claims held (see leases.go).
	leases *leaseTable
	// due is when mail a claim could take is due, as far as the writer
	// knows (see due.go).
	due dueMark
}

// leaseBlock is how many lease tokens one save of the ceiling covers.
const leaseBlock = 1 << 20

// newWriter prepares a writer over conn, reading the sequences.
func newWriter(ctx context.Context, conn *sql.Conn, maxGroup int) (*writer, error) {
	w := &writer{
		conn:     conn,
		stmts:    make(map[string]*sql.Stmt),
		inserts:  make(map[insertKey]string),
		maxGroup: maxGroup,
		lazyWait: lazyWait,
		reqs:     make(chan *request, maxGroup),
		done:     make(chan struct{}),
		leases:   newLeaseTable(),
	}
	var maxID sql.NullInt64
	err := conn.QueryRowContext(ctx, `SELECT
		(SELECT value FROM meta WHERE key = 'next_id'),
		(SELECT value FROM meta WHERE key = 'next_lease'),
		(SELECT max(id) FROM messages)`).Scan(&w.nextID, &w.nextLease, &maxID)
	if err != nil {
		return nil, fmt.Errorf("read sequences: %w", err)
	}
	if maxID.Valid && maxID.Int64 >= w.nextID {
		w.nextID = maxID.Int64 + 1
	}
	w.leaseCeiling = w.nextLease
	if w.counts, err = countStatuses(ctx, conn); err != nil {
		return nil, err
	}
	return w, nil
}

// countStatuses counts the messages per status, walking messages_status.
func countStatuses(ctx context.Context, conn *sql.Conn) (counts, error) {
	var c counts
	rows, err := conn.QueryContext(ctx, `SELECT status, count(*) FROM messages INDEXED BY messages_status GROUP BY status`)
	if err != nil {
		return c, fmt.Errorf("count messages: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			status string
			n      int64
		)
		if err := rows.Scan(&status, &n); err != nil {
			return c, fmt.Errorf("count messages: %w", err)
		}
		c[statusIndex(outbox.Status(status))] = n
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("count messages: %w", err)
	}
	return c, nil
}

// statusCounts returns a copy of the messages per status.
func (w *writer) statusCounts() counts {
	w.countsMu.Lock()
	defer w.countsMu.Unlock()
	return w.counts
}

// start runs the writer goroutine, with sync (which it stops on close)
// making its commits durable and ckpt (likewise) copying the WAL to the
// database file; a nil ckpt leaves that to SQLite.
func (w *writer) start(sync *syncer, ckpt *checkpointer) {
	w.sync, w.ckpt = sync, ckpt
	go w.loop()
}

// do submits fn and waits for the commit of its group. A caller whose ctx
// ends before the writer picks its request returns ctx.Err() and the
// request is skipped; once picked, it runs to the end.
func (w *writer) do(ctx context.Context, fn func(*tx) error) error {
	return w.submit(ctx, &request{fn: fn, done: make(chan struct{})})
}

// doBare is do without the request's savepoint, whose page copies cost
// about as much as a small request's own writes. fn must fail only before
// its first write, or with errAbort (tx.bare makes every statement error
// one), which rolls the whole group back. It keeps the writer's due mark:
// fn lowers it for every message it makes due (see due.go).
func (w *writer) doBare(ctx context.Context, fn func(*tx) error) error {
	return w.submit(ctx, &request{fn: fn, bare: true, keepsDue: true, done: make(chan struct{})})
}

// doLazy is doBare for a write no one waits on in a hurry (a delivery's
// outcome): a group of such writes alone waits up to lazyWait for another
// write to share its commit (see gather).
func (w *writer) doLazy(ctx context.Context, fn func(*tx) error) error {
	return w.submit(ctx, &request{fn: fn, bare: true, lazy: true, keepsDue: true, done: make(chan struct{})})
}

// doBuffered is doBare for a write that adds new rows to the
// transaction's buffer (tx.rows) and flushes it before any lookup that
// must see them: the rows of consecutive such writes in a group are
// written together, by multi-row inserts, before any other request runs
// and before the commit.
func (w *writer) doBuffered(ctx context.Context, fn func(*tx) error) error {
	return w.submit(ctx, &request{fn: fn, bare: true, buffered: true, keepsDue: true, done: make(chan struct{})})
}

// lazyWait bounds how long lazy writes wait for company (writer.lazyWait,
// which tests change).
const lazyWait = 5 * time.Millisecond

// submit hands r to the writer goroutine and waits as do says.
func (w *writer) submit(ctx context.Context, r *request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w.mu.RLock()
	if w.closed {
		w.mu.RUnlock()
		return ErrClosed
	}
	select {
	case w.reqs <- r:
		w.mu.RUnlock()
	case <-ctx.Done():
		w.mu.RUnlock()
		return ctx.Err()
	}
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		if r.state.CompareAndSwap(stateWaiting, stateAbandoned) {
			return ctx.Err()
		}
		<-r.done
		return r.err
	}
}

// close stops taking requests, runs those already submitted and waits for
// the writer goroutine to end. It is idempotent.
func (w *writer) close() {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.reqs)
	}
	w.mu.Unlock()
	<-w.done
}

// loop is the writer goroutine.
func (w *writer) loop() {
	defer close(w.done)
	group := make([]*request, 0, w.maxGroup)
	for first := range w.reqs {
		group = drain(w.reqs, append(group[:0], first), w.maxGroup)
		group = w.gather(group)
		w.runGroup(group)
		clear(group)
	}
	w.sync.stop()
	for _, st := range w.stmts {
		st.Close()
	}
	if w.ckpt != nil {
		w.ckpt.stop()
	}
}

// drain appends to buf what ch holds without waiting, until buf has max
// items or ch is empty or closed.
func drain[T any](ch <-chan T, buf []T, max int) []T {
	for len(buf) < max {
		select {
		case v, ok := <-ch:
			if !ok {
				return buf
			}
			buf = append(buf, v)
		default:
			return buf
		}
	}
	return buf
}

// gather makes a group of lazy writes alone wait up to lazyWait, taking
// every request that comes, until one that is not lazy arrives: outcomes
// then share the commit of the next enqueue instead of each costing an
// fsync of their own, and that enqueue finds the disk free.
func (w *writer) gather(group []*request) []*request {
	for _, r := range group {
		if !r.lazy {
			return group
		}
	}
	t := time.NewTimer(w.lazyWait)
	defer t.Stop()
	for len(group) < w.maxGroup {
		select {
		case r, ok := <-w.reqs:
			if !ok {
				return group
			}
			group = append(group, r)
			if !r.lazy {
				return group
			}
		case <-t.C:
			return group
		}
	}
	return group
}

// runGroup runs the picked requests of a group in one transaction; the
// syncer answers them once the commit is on disk. A group that wrote
// nothing is answered at once when every commit before it is on disk.
func (w *writer) runGroup(group []*request) {
	var picked []*request
	for _, r := range group {
		if r.state.CompareAndSwap(stateWaiting, statePicked) {
			picked = append(picked, r)
		}
	}
	if len(picked) == 0 {
		return
	}
	err := w.sync.failed()
	wrote := false
	if err == nil {
		picked, wrote, err = w.runTx(picked)
	}
	if err == nil && (wrote || w.sync.busy()) {
		w.sync.add(picked)
		return
	}
	if err == nil {
		// An fsync that failed while this group ran (extend took it in
		// then) refuses it too, claims included: their deliveries'
		// outcomes could never be committed.
		err = w.sync.failed()
	}
	// Failed; or nothing written (claims, refused writes) and every
	// commit before is on disk: nothing to wait for.
	for _, r := range picked {
		if err != nil {
			r.err = err
		}
		close(r.done)
	}
}

// runTx runs the requests in one transaction, and those that arrive while
// the last commit is still being synced (see extend); each request's error
// is set on it. It returns every request it ran and whether the commit
// wrote anything (true when it cannot tell); the error is for them all:
// nothing was stored.
func (w *writer) runTx(reqs []*request) ([]*request, bool, error) {
	t := &tx{w: w}
	if err := t.exec("BEGIN IMMEDIATE"); err != nil {
		return reqs, false, fmt.Errorf("begin: %w", err)
	}
	rollback := func() {
		w.rollback()
		w.leases.rolledBack(t)
		w.due.forget()
	}
	var total counts
	run := func(r *request) error {
		err := w.runRequest(t, r)
		if errors.Is(err, errAbort) {
			rollback()
			return err
		}
		r.err = err
		if err == nil {
			total.add(t.delta)
		}
		return nil
	}
	for _, r := range reqs {
		if err := run(r); err != nil {
			return reqs, false, err
		}
	}
	reqs, err := w.extend(reqs, run)
	if err != nil {
		return reqs, false, err
	}
	if err := t.flushRows(); err != nil {
		rollback()
		return reqs, false, err
	}
	ceiling, err := w.saveLeaseCeiling(t)
	if err != nil {
		rollback()
		return reqs, false, err
	}
	if err := t.exec("COMMIT"); err != nil {
		rollback()
		return reqs, false, fmt.Errorf("commit: %w", err)
	}
	w.commits.Add(1)
	w.leaseCeiling = ceiling
	w.countsMu.Lock()
	w.counts.add(total)
	w.countsMu.Unlock()
	w.leases.committed(t)
	return reqs, w.afterCommit(), nil
}

// extend adds requests to the open transaction while the syncer is still
// flushing an earlier commit: this commit could not be synced before that
// one is done anyway, so waiting costs its callers nothing, and the
// requests that come meanwhile share its commit instead of each group
// writing the same pages again.
func (w *writer) extend(reqs []*request, run func(*request) error) ([]*request, error) {
	for len(reqs) < w.maxGroup && w.sync.busy() && w.sync.failed() == nil {
		select {
		case r, ok := <-w.reqs:
			if !ok {
				return reqs, nil
			}
			if !r.state.CompareAndSwap(stateWaiting, statePicked) {
				continue
			}
			reqs = append(reqs, r)
			if err := run(r); err != nil {
				return reqs, err
			}
		case <-w.sync.ready:
		}
	}
	return reqs, nil
}

// runRequest runs one request in its savepoint, or a bare one without.
func (w *writer) runRequest(t *tx, r *request) error {
	w.ran.Add(1)
	if !r.buffered {
		if err := t.flushRows(); err != nil {
			return err
		}
	}
	if !r.keepsDue {
		w.due.forget()
	}
	t.delta, t.bare = counts{}, r.bare
	if r.bare {
		defer func() { t.bare = false }()
		return r.fn(t)
	}
	return t.savepoint("request", func() error { return r.fn(t) })
}

// saveLeaseCeiling saves a new lease ceiling in the group's transaction
// when the tokens handed out reached the saved one, and returns the
// ceiling to keep once it commits.
func (w *writer) saveLeaseCeiling(t *tx) (int64, error) {
	if w.nextLease <= w.leaseCeiling {
		return w.leaseCeiling, nil
	}
	ceiling := w.nextLease + leaseBlock
	if err := t.exec(`UPDATE meta SET value = ? WHERE key = 'next_lease'`, ceiling); err != nil {
		return 0, fmt.Errorf("save lease sequence: %w", err)
	}
	return ceiling, nil
}

// rollback abandons the open transaction after a failure. Its own error
// adds nothing: SQLite may already have rolled back.
func (w *writer) rollback() {
	w.conn.ExecContext(context.Background(), "ROLLBACK")
}

// stmt returns the prepared statement for query on the write connection,
// preparing it on first use.
func (w *writer) stmt(query string) (*sql.Stmt, error) {
	if st, ok := w.stmts[query]; ok {
		return st, nil
	}
	st, err := w.conn.PrepareContext(context.Background(), query)
	if err != nil {
		return nil, err
	}
	w.stmts[query] = st
	return st, nil
}

// allocID returns a new message id.
func (w *writer) allocID() int64 {
	id := w.nextID
	w.nextID++
	return id
}

// allocLeases returns the first of n new lease tokens, base to base+n-1,
// never handed out before.
func (w *writer) allocLeases(n int) int64 {
	l := w.nextLease
	w.nextLease += int64(n)
	return l
}
