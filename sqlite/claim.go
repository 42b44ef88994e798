package sqlite

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/outboxmail/outbox"
)

// Claim statements. selectDue (see selectDueSkipping) walks messages_due:
// for one priority, the entries due by now in (due_at, id) order. A
// claimed message keeps its stored row (see leases.go): the walk passes
// over those whose lease is held. A final message has a due_at only while
// it has pending legs; claiming it leases it without changing its status.
const (
	selectDue = `SELECT id FROM messages INDEXED BY messages_due
		WHERE priority = ? AND due_at <= ?` + selectDueOrder
	// No LIMIT: the claim reads as many rows as it wants, and the index
	// walk stops there. A LIMIT bound as a parameter would make SQLite
	// prepare the statement again whenever its value changes.
	selectDueOrder = `
		ORDER BY due_at, id`
)

// selectDueSkipping is selectDue leaving out the messages of n backends,
// bound after priority and due time: the same index walk, the backend
// checked on each due entry.
func selectDueSkipping(n int) string {
	if n == 0 {
		return selectDue
	}
	return `SELECT id FROM messages INDEXED BY messages_due
		WHERE priority = ? AND due_at <= ? AND backend NOT IN (?` +
		strings.Repeat(", ?", n-1) + `)` + selectDueOrder
}

// Claim leases up to req.Limit due messages, each priority getting its
// share (outbox.ClaimByPriority), FIFO by due time within a priority,
// leaving out those of req.SkipBackends. Each claimed message becomes
// sending until req.Now+req.Lease under a new lease token, held in memory
// (see leases.go): a claim writes nothing. The records carry Raw, Lease
// and every recipient.
//
// Each priority's due messages are read once, as many as the claim could
// take of them, and the shares are dealt from those; one query then reads
// the records of every message taken.
func (s *Store) Claim(ctx context.Context, req outbox.ClaimRequest) ([]*outbox.Record, error) {
	if req.Limit <= 0 {
		return nil, nil
	}
	if req.Lease <= 0 {
		return nil, errors.New("claim: Lease must be positive")
	}
	if req.Now.IsZero() {
		return nil, errors.New("claim: Now is required")
	}
	var out []*outbox.Record
	// A claim runs without a savepoint (doBare): its queries fail only as
	// the disk or database does, and then the whole group fails too.
	// Once picked, it runs to the end: ctx no longer applies.
	err := s.w.doBare(ctx, func(t *tx) error {
		ctx := context.Background()
		now := nanos(req.Now)
		var (
			due   [3][]int64 // ids read so far, per priority
			read  [3]bool
			taken []int64
		)
		err := outbox.ClaimByPriority(req.Limit, req.Weights, func(p outbox.Priority, n int) (int, error) {
			i := priorityIndex(p)
			if !read[i] {
				var err error
				if due[i], err = selectDueMessages(ctx, t, p, req.Limit, now, req.SkipBackends, t.w.leases.claimable); err != nil {
					return 0, err
				}
				read[i] = true
			}
			n = min(n, len(due[i]))
			taken = append(taken, due[i][:n]...)
			due[i] = due[i][n:]
			return n, nil
		})
		if err == nil {
			out, err = leaseDue(ctx, t, taken, now, nanos(req.Now.Add(req.Lease)))
		}
		if err == nil {
			err = loadRecipients(ctx, t, out)
		}
		if err == nil {
			err = loadBodies(ctx, t, out)
		}
		if err != nil && !errors.Is(err, errAbort) {
			err = fmt.Errorf("%w: %w", errAbort, err)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	return out, nil
}

// priorityIndex is p's position in outbox.Priorities.
func priorityIndex(p outbox.Priority) int {
	return int(outbox.PriorityHigh - p)
}

// selectDueMessages reads the ids of up to n due messages of priority p
// that take says a claim at now may take, none of the backends in skip,
// in (due_at, id) order.
func selectDueMessages(ctx context.Context, t querier, p outbox.Priority, n int, now int64, skip []string,
	take func(id, now int64) bool) ([]int64, error) {
	args := make([]any, 0, 2+len(skip))
	args = append(args, int64(p), now)
	for _, b := range skip {
		args = append(args, b)
	}
	rows, err := t.QueryContext(ctx, selectDueSkipping(len(skip)), args...)
	if err != nil {
		return nil, fmt.Errorf("select due: %w", err)
	}
	defer rows.Close()
	var due []int64
	for len(due) < n && rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("select due: %w", err)
		}
		if take(id, now) {
			due = append(due, id)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select due: %w", err)
	}
	return due, nil
}

// leaseDue leases the messages whose ids due lists, in that order, until
// until, and returns their records.
func leaseDue(ctx context.Context, t *tx, due []int64, now, until int64) ([]*outbox.Record, error) {
	if len(due) == 0 {
		return nil, nil
	}
	// One query reads them all; it gives no order, so the position in due
	// puts each record back in its place, and its lease is the block's
	// token at that position.
	pos := make(map[int64]int, len(due))
	for i, id := range due {
		pos[id] = i
	}
	rows, err := t.QueryContext(ctx, selectRecords, idList(due))
	if err != nil {
		return nil, fmt.Errorf("read claimed messages: %w", err)
	}
	defer rows.Close()
	recs := make([]*outbox.Record, len(due))
	got := 0
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("read claimed messages: %w", err)
		}
		i, ok := pos[r.ID]
		if !ok || recs[i] != nil {
			return nil, fmt.Errorf("read claimed messages: unexpected message %d", r.ID)
		}
		recs[i] = r
		got++
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read claimed messages: %w", err)
	}
	if got != len(due) {
		return nil, fmt.Errorf("read claimed messages: read %d of %d", got, len(due))
	}
	base := t.w.allocLeases(len(due))
	for i, r := range recs {
		// A message whose last lease ran out is counted sending already.
		if prev, ok := t.w.leases.get(r.ID); (!ok || prev.done) && r.Status.Pending() {
			t.move(r.Status, outbox.StatusSending)
		}
		t.w.leases.set(t, r.ID, lease{token: base + int64(i), until: until, at: now, stored: r.Status})
		t.w.leases.show(r)
		r.Lease = base + int64(i)
	}
	return recs, nil
}
