package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/outboxmail/outbox"
)

// Enqueue statements (the inserts are in insert.go).
const (
	selectIdempotent = `SELECT id FROM messages WHERE idempotency_key = ?`
)

// Enqueue inserts recs as queued messages, each with its body and pending
// recipients, and returns one result per item. An invalid item fails
// alone; an item whose idempotency key is stored (also earlier in the same
// call) returns that message's id with Existing set. An item with Status
// sending is stored queued and held by a new lease until its LeaseUntil,
// as if claimed at once, unless mail no lease holds is due by its own due
// time (see dueAhead): then it is stored queued, without a lease, and a
// claim gives it its turn. Unset
// times default to the creation time (and CreatedAt to now);
// NextAttemptAt defaults to SendAt.
func (s *Store) Enqueue(ctx context.Context, recs []*outbox.Record) ([]outbox.EnqueueResult, error) {
	res := make([]outbox.EnqueueResult, len(recs))
	if len(recs) == 0 {
		return res, nil
	}
	now := s.now().UTC()
	// Without a savepoint (doBuffered): an item is refused by validateNew,
	// its idempotency lookup or its JSON columns before anything of it is
	// written, so its inserts fail only as the disk or database does, and
	// then the whole group fails too. The rows are buffered and written
	// together with those of the group's other enqueues.
	err := s.w.doBuffered(ctx, func(t *tx) error {
		for i, r := range recs {
			var err error
			if res[i], err = enqueueOne(t, r, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("enqueue: %w", err)
	}
	return res, nil
}

// enqueueOne adds one message to the transaction's rows, or returns the
// item's own error in the result. The error it returns is for the whole
// request (errAbort).
func enqueueOne(t *tx, r *outbox.Record, now time.Time) (outbox.EnqueueResult, error) {
	if err := validateNew(r); err != nil {
		return outbox.EnqueueResult{Err: fmt.Errorf("enqueue: %w", err)}, nil
	}
	if r.IdempotencyKey != "" {
		// The lookup must see the messages added before.
		if err := t.flushRows(); err != nil {
			return outbox.EnqueueResult{}, err
		}
		var id int64
		err := t.QueryRowContext(context.Background(), selectIdempotent, r.IdempotencyKey).Scan(&id)
		if err == nil {
			return outbox.EnqueueResult{ID: id, Existing: true}, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return outbox.EnqueueResult{Err: fmt.Errorf("enqueue: idempotency key: %w", err)}, nil
		}
	}
	due := nanos(dueTime(r, now))
	handOff := false
	if r.Status == outbox.StatusSending {
		ahead, err := dueAhead(t, due)
		if err != nil {
			return outbox.EnqueueResult{}, fmt.Errorf("%w: mail due ahead: %w", errAbort, err)
		}
		handOff = !ahead
	}
	id := t.w.allocID()
	updated, err := t.rows.add(id, handOff, r, now)
	if err != nil {
		return outbox.EnqueueResult{Err: fmt.Errorf("enqueue: %w", err)}, nil
	}
	if !handOff {
		t.w.due.lower(due)
		t.delta[statusIndex(outbox.StatusQueued)]++
		return outbox.EnqueueResult{ID: id}, nil
	}
	// Stored queued, held by a lease like a claimed message.
	token := t.w.allocLeases(1)
	until := nanos(r.LeaseUntil)
	t.w.leases.set(t, id, lease{token: token, until: until, at: updated, stored: outbox.StatusQueued})
	t.w.due.lower(until) // claimable again then
	t.delta[statusIndex(outbox.StatusSending)]++
	return outbox.EnqueueResult{ID: id, Lease: token}, nil
}

// dueTime is when a new message is first due: its NextAttemptAt, else its
// SendAt, else its creation (now when unset).
func dueTime(r *outbox.Record, now time.Time) time.Time {
	for _, t := range []time.Time{r.NextAttemptAt, r.SendAt, r.CreatedAt} {
		if !t.IsZero() {
			return t
		}
	}
	return now
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

// add buffers the message row, queued, its body and its recipients, and
// returns the row's updated_at; held says a lease holds the message (a
// hand-off), so that firstDue passes over it. It fails only on the record's
// JSON columns, before buffering anything.
func (b *newRows) add(id int64, held bool, r *outbox.Record, now time.Time) (int64, error) {
	created := r.CreatedAt
	if created.IsZero() {
		created = now
	}
	updated, lifetime, next := r.UpdatedAt, r.LifetimeStart, dueTime(r, now)
	if updated.IsZero() {
		updated = created
	}
	if lifetime.IsZero() {
		lifetime = created
	}
	tags, err := jsonColumn(r.Tags, len(r.Tags) == 0)
	if err != nil {
		return 0, fmt.Errorf("tags: %w", err)
	}
	meta, err := jsonColumn(r.Metadata, len(r.Metadata) == 0)
	if err != nil {
		return 0, fmt.Errorf("metadata: %w", err)
	}
	if !held {
		b.dues = append(b.dues, nanos(next))
	}
	b.messages = append(b.messages, id, r.MessageID, string(outbox.StatusQueued), r.From, r.Subject, int64(r.Priority), r.Backend,
		tags, meta, nullString(r.IdempotencyKey), len(r.Raw),
		nanos(created), nanos(updated), nanos(lifetime),
		nullNanos(r.SendAt), nullNanos(r.ExpiresAt), nanos(next), nanos(next), 0)
	b.bodies = append(b.bodies, id, r.Raw)
	for pos, rc := range r.Recipients {
		b.recipients = append(b.recipients, id, rc.Leg, rc.Addr, pos)
	}
	return nanos(updated), nil
}
