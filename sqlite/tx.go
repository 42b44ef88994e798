package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/outboxmail/outbox"
)

// errAbort marks a failure that leaves the group transaction in an unknown
// state (a savepoint could not be rolled back): the whole group fails.
var errAbort = errors.New("write transaction aborted")

// tx is the group transaction as one request sees it. Statements run on
// the writer's connection through its prepared-statement cache; delta
// collects the request's changes to the status counters.
type tx struct {
	w     *writer
	delta counts
	// bare is set while a request runs without a savepoint: a failing
	// statement then fails the whole group (errAbort), as nothing else
	// could undo what the request wrote before it.
	bare bool
	// rows holds new messages' rows not yet written (see
	// writer.doBuffered).
	rows newRows
	// leaseUndo undoes the transaction's changes to the lease table if it
	// fails; leasesDone are the leases its outcomes finished.
	leaseUndo  []leaseUndo
	leasesDone []int64
}

// flushRows writes the buffered rows. They are earlier requests' writes:
// a failure is the whole group's (errAbort).
func (t *tx) flushRows() error {
	if !t.rows.pending() {
		return nil
	}
	if err := t.rows.flush(t); err != nil {
		if errors.Is(err, errAbort) {
			return err
		}
		return fmt.Errorf("%w: insert new messages: %w", errAbort, err)
	}
	return nil
}

// querier runs queries: the writer's tx or a read transaction.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// exec runs a statement.
func (t *tx) exec(query string, args ...any) error {
	_, err := t.execResult(query, args...)
	return err
}

// execResult runs a statement and returns its result.
func (t *tx) execResult(query string, args ...any) (sql.Result, error) {
	st, err := t.w.stmt(query)
	if err != nil {
		return nil, t.fail(err)
	}
	res, err := st.Exec(args...)
	if err != nil {
		return nil, t.fail(err)
	}
	return res, nil
}

// fail is the error of a failed statement: errAbort in a bare request.
func (t *tx) fail(err error) error {
	if t.bare {
		return fmt.Errorf("%w: %w", errAbort, err)
	}
	return err
}

// execCount runs a statement and returns the number of rows it changed.
func (t *tx) execCount(query string, args ...any) (int64, error) {
	res, err := t.execResult(query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// QueryContext runs a query. The writer never cancels a picked request,
// so ctx is only passed on.
func (t *tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := t.w.stmt(query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// QueryRowContext runs a query expected to return at most one row.
func (t *tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := t.w.stmt(query)
	if err != nil {
		// Let database/sql report the preparation error through Row.Scan.
		return t.w.conn.QueryRowContext(ctx, query, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// savepoint runs fn inside a savepoint: if fn fails, its changes (and its
// counter and lease changes) are rolled back and its error returned; the rest of the
// transaction goes on.
func (t *tx) savepoint(name string, fn func() error) error {
	if err := t.exec("SAVEPOINT " + name); err != nil {
		return fmt.Errorf("%w: savepoint: %w", errAbort, err)
	}
	saved, leases := t.delta, len(t.leaseUndo)
	ferr := fn()
	if errors.Is(ferr, errAbort) {
		return ferr
	}
	if ferr != nil {
		t.delta = saved
		t.w.leases.undoTo(t, leases)
		if err := t.exec("ROLLBACK TO " + name); err != nil {
			return fmt.Errorf("%w: rollback to savepoint: %w (after %w)", errAbort, err, ferr)
		}
	}
	if err := t.exec("RELEASE " + name); err != nil {
		return fmt.Errorf("%w: release savepoint: %w", errAbort, err)
	}
	return ferr
}

// move counts a message changing status.
func (t *tx) move(from, to outbox.Status) {
	if from == to {
		return
	}
	t.delta[statusIndex(from)]--
	t.delta[statusIndex(to)]++
}

// counts are changes to the number of messages per status, indexed as
// statusAt says.
type counts [7]int64

// add adds d to c.
func (c *counts) add(d counts) {
	for i, n := range d {
		c[i] += n
	}
}

// statusAt is the status counted at index i of counts.
func statusAt(i int) outbox.Status {
	return [len(counts{})]outbox.Status{
		outbox.StatusQueued, outbox.StatusSending, outbox.StatusDeferred,
		outbox.StatusSent, outbox.StatusFailed, outbox.StatusExpired, outbox.StatusCancelled,
	}[i]
}

// statusIndex is the index of s in counts.
func statusIndex(s outbox.Status) int {
	for i := range len(counts{}) {
		if statusAt(i) == s {
			return i
		}
	}
	panic(fmt.Sprintf("sqlite: unknown status %q", s))
}
