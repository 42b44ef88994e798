package sqlite

import (
	"strings"
)

// Multi-row inserts: the rows of a call's new messages are buffered and
// written with one INSERT per table for up to maxRows rows, instead of
// three statements per message; a statement costs about as much as the
// rows it writes. Chunks have power-of-two sizes so that few statements
// are prepared. They are INSERT OR FAIL: a failure fails the whole group
// transaction anyway (see tx.flushRows), so SQLite need not keep a
// statement journal to undo a statement that fails halfway.
const maxRows = 64

// Row shapes of the buffered tables; newRows.add appends the arguments in
// this order.
const (
	messageColumns = `id, message_id, status, sender, subject, priority, backend, tags, metadata,
		idempotency_key, size, attempts, created_at, updated_at, lifetime_start,
		send_at, expires_at, next_attempt_at, due_at, last_error, lease`
	messageValues   = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, '', ?)`
	messageArgs     = 19
	bodyValues      = `(?, ?)`
	bodyArgs        = 2
	recipientValues = `(?, ?, ?, ?, 'pending')`
	recipientArgs   = 4
)

// table is one buffered table: its name, INSERT head and row shape.
type table struct {
	name   string
	head   string // INSERT INTO … VALUES
	values string // one row's placeholders
	nargs  int    // arguments per row
}

var (
	messagesTable   = table{"messages", `INSERT OR FAIL INTO messages (` + messageColumns + `) VALUES `, messageValues, messageArgs}
	bodiesTable     = table{"bodies", `INSERT OR FAIL INTO bodies (id, raw) VALUES `, bodyValues, bodyArgs}
	recipientsTable = table{"recipients", `INSERT OR FAIL INTO recipients (message_id, leg, addr, pos, status) VALUES `, recipientValues, recipientArgs}
)

// insertKey names the statement inserting n rows into a table.
type insertKey struct {
	table string
	n     int
}

// insertStatement returns tb's statement for n rows, built once.
func (w *writer) insertStatement(tb table, n int) string {
	k := insertKey{tb.name, n}
	q, ok := w.inserts[k]
	if !ok {
		q = tb.insert(n)
		w.inserts[k] = q
	}
	return q
}

// insert returns the statement inserting n rows.
func (tb table) insert(n int) string {
	var b strings.Builder
	b.Grow(len(tb.head) + n*(len(tb.values)+2))
	b.WriteString(tb.head)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(tb.values)
	}
	return b.String()
}

// newRows buffers the rows of new messages until flush.
type newRows struct {
	messages, bodies, recipients []any   // arguments, row after row
	dues                         []int64 // the due_at of each buffered message no lease holds
}

// pending reports whether rows wait to be written.
func (b *newRows) pending() bool { return len(b.messages) > 0 }

// firstDue returns the earliest due time (Unix nanoseconds) of a buffered
// message no lease holds, or noneDue.
func (b *newRows) firstDue() int64 {
	first := int64(noneDue)
	for _, d := range b.dues {
		first = min(first, d)
	}
	return first
}

// flush writes the buffered rows, messages first. A failure is the
// group's (the writer runs it bare).
func (b *newRows) flush(t *tx) error {
	for _, tb := range []struct {
		table
		args *[]any
	}{{messagesTable, &b.messages}, {bodiesTable, &b.bodies}, {recipientsTable, &b.recipients}} {
		if err := insertRows(t, tb.table, *tb.args); err != nil {
			return err
		}
		clear(*tb.args)
		*tb.args = (*tb.args)[:0]
	}
	b.dues = b.dues[:0]
	return nil
}

// insertRows writes the rows whose arguments args holds, in chunks of
// maxRows, then of decreasing powers of two.
func insertRows(t *tx, tb table, args []any) error {
	rows := len(args) / tb.nargs
	for rows > 0 {
		n := maxRows
		for n > rows {
			n /= 2
		}
		if err := t.exec(t.w.insertStatement(tb, n), args[:n*tb.nargs]...); err != nil {
			return err
		}
		args, rows = args[n*tb.nargs:], rows-n
	}
	return nil
}
