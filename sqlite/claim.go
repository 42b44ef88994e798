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
// sending message's due_at is its lease expiry, so a dead claimer's
// messages come back by themselves. A final message has a due_at only
// while it has pending legs; claiming it leases it without changing its
// status.
const (
	selectDue = `SELECT id, status FROM messages INDEXED BY messages_due
		WHERE priority = ? AND due_at <= ?` + selectDueOrder
	selectDueOrder = `
		ORDER BY due_at, id LIMIT ?`
	leaseMessage = `UPDATE messages SET
		status = CASE WHEN status IN ('queued', 'deferred', 'sending') THEN 'sending' ELSE status END,
		lease = ?, due_at = ?, updated_at = ?
		WHERE id = ?
		RETURNING ` + recordColumns
)

// selectDueSkipping is selectDue leaving out the messages of n backends,
// bound after priority and due time: the same index walk, the backend
// checked on each due entry.
func selectDueSkipping(n int) string {
	if n == 0 {
		return selectDue
	}
	return `SELECT id, status FROM messages INDEXED BY messages_due
		WHERE priority = ? AND due_at <= ? AND backend NOT IN (?` +
		strings.Repeat(", ?", n-1) + `)` + selectDueOrder
}

// Claim leases up to req.Limit due messages, each priority getting its
// share (outbox.ClaimByPriority), FIFO by due time within a priority,
// leaving out those of req.SkipBackends. Each claimed message becomes
// sending until req.Now+req.Lease under a new lease token. The records
// carry Raw, Lease and every recipient.
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
	err := s.w.do(ctx, func(t *tx) error {
		out = out[:0]
		now := nanos(req.Now)
		until := nanos(req.Now.Add(req.Lease))
		err := outbox.ClaimByPriority(req.Limit, req.Weights, func(p outbox.Priority, n int) (int, error) {
			recs, err := claimPriority(ctx, t, p, n, now, until, req.SkipBackends)
			out = append(out, recs...)
			return len(recs), err
		})
		if err != nil {
			return err
		}
		if err := loadRecipients(ctx, t, out); err != nil {
			return err
		}
		return loadBodies(ctx, t, out)
	})
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	return out, nil
}

// claimPriority leases up to n due messages of priority p, none of the
// backends in skip.
func claimPriority(ctx context.Context, t *tx, p outbox.Priority, n int, now, until int64, skip []string) ([]*outbox.Record, error) {
	type due struct {
		id     int64
		status outbox.Status
	}
	args := make([]any, 0, 3+len(skip))
	args = append(args, int64(p), now)
	for _, b := range skip {
		args = append(args, b)
	}
	args = append(args, n)
	rows, err := t.QueryContext(ctx, selectDueSkipping(len(skip)), args...)
	if err != nil {
		return nil, fmt.Errorf("select due: %w", err)
	}
	var ids []due
	for rows.Next() {
		var d due
		if err := rows.Scan(&d.id, &d.status); err != nil {
			rows.Close()
			return nil, fmt.Errorf("select due: %w", err)
		}
		ids = append(ids, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("select due: %w", err)
	}
	recs := make([]*outbox.Record, 0, len(ids))
	for _, d := range ids {
		lease := t.w.allocLease()
		r, err := scanRecord(t.QueryRowContext(ctx, leaseMessage, lease, until, now, d.id))
		if err != nil {
			return recs, fmt.Errorf("lease message %d: %w", d.id, err)
		}
		r.Lease = lease
		t.move(d.status, r.Status)
		recs = append(recs, r)
	}
	return recs, nil
}
