package sqlite

import (
	"context"
	"math"

	"github.com/outboxmail/outbox"
)

// A hand-off (see Enqueue) must not pass mail a claim would take: before
// it stores a new message leased, the writer asks whether a message no
// lease holds is due by the new one's due time. Held messages keep their
// place at the head of messages_due (see leases.go), so the walk that
// answers passes every delivery under way. The writer keeps its answer
// instead, as a time before which nothing a claim could take is due, and
// its requests lower that time as they store what makes mail due sooner:
//
//   - a new message stored without a lease, due at its due time;
//   - a hand-off's lease, whose message a claim may take again once it
//     runs out (enqueueOne);
//   - an outcome that leaves a message due (completeMessage).
//
// A claim's leases need nothing: a claim takes only mail due by its time,
// so the mark is at or before that time already, and its leases run out
// later. A claim does not raise the mark either: the next walk that finds
// nothing due does.
//
// Only the requests of doBare, doLazy and doBuffered (claims, outcomes,
// enqueues) keep the mark; any other request (Retry, Cancel, Purge…: run
// by writer.do, in a savepoint) makes it unknown before it runs, and so
// does a group's rollback, which may bring back what a walk in the group
// saw claimed. Time passing changes nothing: what becomes due later was
// counted at its due time.

// dueMark is what the writer knows of due mail between its walks.
type dueMark struct {
	known bool
	// before, when known: nothing a claim could take is due before it
	// (Unix ns).
	before int64
}

// lower records that something may be due from at on.
func (d *dueMark) lower(at int64) {
	if d.known && at < d.before {
		d.before = at
	}
}

// forget makes the mark unknown.
func (d *dueMark) forget() { d.known = false }

// dueAhead tells whether a message no lease holds is due by due (Unix
// nanoseconds), among the transaction's buffered rows or in the database:
// one a claim at due would take. The mark answers no at once; otherwise
// the walk looks, and when it finds nothing it sets the mark.
func dueAhead(t *tx, due int64) (bool, error) {
	// Buffered rows count first: a claim flushes them before it looks.
	first := t.rows.firstDue()
	if first <= due {
		return true, nil
	}
	if t.w.due.known && due < t.w.due.before {
		return false, nil
	}
	if until, ok := t.w.leases.firstExpiry(); ok {
		first = min(first, until)
	}
	for _, p := range outbox.Priorities {
		if first <= due {
			return true, nil
		}
		d, err := firstUnheld(context.Background(), t, t.w.leases.holds, p)
		if err != nil {
			return false, err
		}
		if d.Valid {
			first = min(first, d.Int64)
		}
	}
	if first <= due {
		return true, nil
	}
	t.w.due = dueMark{known: true, before: first}
	return false, nil
}

// noneDue is the first due time of nothing.
const noneDue = math.MaxInt64
