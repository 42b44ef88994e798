package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/outboxmail/outbox"
)

// Enqueue statements.
const (
	selectIdempotent = `SELECT id FROM messages WHERE idempotency_key = ?`
	insertMessage    = `INSERT INTO messages (
		id, message_id, status, sender, subject, priority, backend, tags, metadata,
		idempotency_key, size, attempts, created_at, updated_at, lifetime_start,
		send_at, expires_at, next_attempt_at, due_at, last_error, lease
	) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, '', ?)`
	insertBody      = `INSERT INTO bodies (id, raw) VALUES (?, ?)`
	insertRecipient = `INSERT INTO recipients (message_id, leg, addr, pos, status)
		VALUES (?, ?, ?, ?, 'pending')`
)

// Enqueue inserts recs as queued messages, each with its body and pending
// recipients, and returns one result per item. An invalid item fails
// alone; an item whose idempotency key is stored (also earlier in the same
// call) returns that message's id with Existing set. An item with Status
// sending is stored claimed until its LeaseUntil under a new lease token.
// Unset times default to the creation time (and CreatedAt to now);
// NextAttemptAt defaults to SendAt.
func (s *Store) Enqueue(ctx context.Context, recs []*outbox.Record) ([]outbox.EnqueueResult, error) {
	res := make([]outbox.EnqueueResult, len(recs))
	if len(recs) == 0 {
		return res, nil
	}
	now := s.now().UTC()
	// Without a savepoint (doBare): an item is refused by validateNew,
	// its idempotency lookup or its JSON columns before anything of it is
	// written, so its inserts fail only as the disk or database does, and
	// then the whole group fails too.
	err := s.w.doBare(ctx, func(t *tx) error {
		for i, r := range recs {
			var err error
			if res[i], err = enqueueOne(t, r, now); err != nil {
				return err
			}
			if res[i].Err == nil && !res[i].Existing {
				t.delta[statusIndex(r.Status)]++
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	return res, nil
}

// enqueueOne stores one message, or returns the item's own error in the
// result. The error it returns is for the whole request (errAbort).
func enqueueOne(t *tx, r *outbox.Record, now time.Time) (outbox.EnqueueResult, error) {
	if err := validateNew(r); err != nil {
		return outbox.EnqueueResult{Err: fmt.Errorf("enqueue: %w", err)}, nil
	}
	if r.IdempotencyKey != "" {
		var id int64
		err := t.QueryRowContext(context.Background(), selectIdempotent, r.IdempotencyKey).Scan(&id)
		if err == nil {
			return outbox.EnqueueResult{ID: id, Existing: true}, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return outbox.EnqueueResult{Err: fmt.Errorf("enqueue: idempotency key: %w", err)}, nil
		}
	}
	id := t.w.allocID()
	var lease int64
	if r.Status == outbox.StatusSending {
		lease = t.w.allocLeases(1)
	}
	if err := insertNew(t, id, lease, r, now); err != nil {
		if errors.Is(err, errAbort) {
			return outbox.EnqueueResult{}, err
		}
		return outbox.EnqueueResult{Err: fmt.Errorf("enqueue: %w", err)}, nil
	}
	return outbox.EnqueueResult{ID: id, Lease: lease}, nil
}

// validateNew checks what the schema cannot.
func validateNew(r *outbox.Record) error {
	switch {
	case r == nil:
		return errors.New("nil record")
	case len(r.Raw) == 0:
		return errors.New("raw message is empty")
	case len(r.Recipients) == 0:
		return errors.New("no recipients")
	case r.Priority < outbox.PriorityLow || r.Priority > outbox.PriorityHigh:
		return fmt.Errorf("unknown priority %d", r.Priority)
	case r.Status != outbox.StatusQueued && r.Status != outbox.StatusSending:
		return fmt.Errorf("status %q: a new message is queued or sending", r.Status)
	case r.Status == outbox.StatusSending && r.LeaseUntil.IsZero():
		return errors.New("a message stored sending needs LeaseUntil")
	}
	var seen map[[2]string]bool // leg, address; not needed for one recipient
	if len(r.Recipients) > 1 {
		seen = make(map[[2]string]bool, len(r.Recipients))
	}
	for _, rc := range r.Recipients {
		if rc.Addr == "" {
			return errors.New("empty recipient address")
		}
		key := [2]string{rc.Leg, rc.Addr}
		if seen[key] {
			return fmt.Errorf("recipient %q listed twice", rc.Addr)
		}
		if seen != nil {
			seen[key] = true
		}
	}
	return nil
}

// insertNew writes the message row, its body and its recipients; a
// message stored sending is due again when its lease runs out. It fails
// before its first write, or with errAbort.
func insertNew(t *tx, id, lease int64, r *outbox.Record, now time.Time) error {
	created := r.CreatedAt
	if created.IsZero() {
		created = now
	}
	updated, lifetime, next := r.UpdatedAt, r.LifetimeStart, r.NextAttemptAt
	if updated.IsZero() {
		updated = created
	}
	if lifetime.IsZero() {
		lifetime = created
	}
	if next.IsZero() {
		next = r.SendAt
	}
	if next.IsZero() {
		next = created
	}
	tags, err := jsonColumn(r.Tags, len(r.Tags) == 0)
	if err != nil {
		return fmt.Errorf("tags: %w", err)
	}
	meta, err := jsonColumn(r.Metadata, len(r.Metadata) == 0)
	if err != nil {
		return fmt.Errorf("metadata: %w", err)
	}
	due := next
	if r.Status == outbox.StatusSending {
		due = r.LeaseUntil
	}
	err = t.exec(insertMessage, id, r.MessageID, string(r.Status), r.From, r.Subject, int64(r.Priority), r.Backend,
		tags, meta, nullString(r.IdempotencyKey), len(r.Raw),
		nanos(created), nanos(updated), nanos(lifetime),
		nullNanos(r.SendAt), nullNanos(r.ExpiresAt), nanos(next), nanos(due), lease)
	if err != nil {
		return fmt.Errorf("insert message: %w", err)
	}
	if err := t.exec(insertBody, id, r.Raw); err != nil {
		return fmt.Errorf("insert body: %w", err)
	}
	for pos, rc := range r.Recipients {
		if err := t.exec(insertRecipient, id, rc.Leg, rc.Addr, pos); err != nil {
			return fmt.Errorf("insert recipient %q: %w", rc.Addr, err)
		}
	}
	return nil
}
