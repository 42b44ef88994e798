package sqlite

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/outboxmail/outbox"
)

// Complete statements.
const (
	// updateRecipient updates a recipient's state; insertRecipientAfter
	// adds it, after the others, when a new leg (or address) appears.
	updateRecipient = `UPDATE recipients SET status = ?4, reply_code = ?5,
		reply_enhanced = ?6, reply_text = ?7, updated_at = ?8
		WHERE message_id = ?1 AND leg = ?2 AND addr = ?3`
	insertRecipientAfter = `INSERT INTO recipients (
		message_id, leg, addr, pos, status, reply_code, reply_enhanced, reply_text, updated_at
	) VALUES (?1, ?2, ?3,
		(SELECT coalesce(max(pos), -1) + 1 FROM recipients WHERE message_id = ?1),
		?4, ?5, ?6, ?7, ?8)`
	insertAttempt = `INSERT INTO attempts (
		message_id, seq, at, backend, duration, class, reply_code, reply_enhanced, reply_text, recipients
	) VALUES (?1,
		(SELECT coalesce(max(seq), 0) + 1 FROM attempts WHERE message_id = ?1),
		?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)`
	// writeOutcome writes a held message's new state (see completeMessage).
	writeOutcome = `UPDATE messages SET status = ?1, attempts = ?2, last_error = ?3, updated_at = ?4,
		next_attempt_at = ?5, due_at = ?6, lease = 0
		WHERE id = ?7`
)

// Complete applies the outcome of a delivery to a message claimed under
// o.Lease: recipients upserted by (leg, address), the attempt appended,
// the message's status, attempts and next attempt set, all in one
// transaction. A final outcome with LegsDueAt keeps the message claimable
// for its pending legs from then on. It returns outbox.ErrLeaseLost when
// the message is no longer held under that lease (claimed again, or
// already completed). A message claimed for its legs keeps its status: an
// outcome with another one is an error.
func (s *Store) Complete(ctx context.Context, o outbox.Outcome) error {
	if !o.Status.Valid() || o.Status == outbox.StatusSending {
		return fmt.Errorf("complete message %d: invalid new status %q", o.ID, o.Status)
	}
	if o.Now.IsZero() {
		return fmt.Errorf("complete message %d: Now is required", o.ID)
	}
	for _, rc := range o.Recipients {
		if rc.Addr == "" || !validRecipientStatus(rc.Status) {
			return fmt.Errorf("complete message %d: invalid recipient %q with status %q", o.ID, rc.Addr, rc.Status)
		}
	}
	var attemptRcpts string
	if o.Attempt != nil {
		b, err := json.Marshal(o.Attempt.Recipients)
		if err != nil {
			return fmt.Errorf("complete message %d: attempt recipients: %w", o.ID, err)
		}
		attemptRcpts = string(b)
	}
	// Complete runs without a savepoint: it writes nothing unless the
	// message row, written first, was held under the lease, and after that
	// a failing statement fails the group (tx.bare).
	err := s.w.doLazy(ctx, func(t *tx) error {
		held, err := completeMessage(t, o)
		if err != nil {
			return err
		}
		for _, rc := range o.Recipients {
			updated := rc.UpdatedAt
			if updated.IsZero() {
				updated = o.Now
			}
			args := []any{o.ID, rc.Leg, rc.Addr, string(rc.Status),
				rc.Reply.Code, rc.Reply.Enhanced, rc.Reply.Text, nanos(updated)}
			n, err := t.execCount(updateRecipient, args...)
			if err == nil && n == 0 {
				err = t.exec(insertRecipientAfter, args...)
			}
			if err != nil {
				return fmt.Errorf("recipient %q: %w", rc.Addr, err)
			}
		}
		if a := o.Attempt; a != nil {
			err := t.exec(insertAttempt, o.ID, nanos(a.At), a.Backend, int64(a.Duration), string(a.Class),
				a.Reply.Code, a.Reply.Enhanced, a.Reply.Text, attemptRcpts)
			if err != nil {
				return fmt.Errorf("append attempt: %w", err)
			}
		}
		t.move(held, o.Status)
		return nil
	})
	if err != nil {
		return fmt.Errorf("complete message %d: %w", o.ID, err)
	}
	return nil
}

// completeMessage writes the outcome to the message row if a lease held
// in memory under o.Lease holds it (see leases.go), ends that lease, and
// returns the status the message had: sending, or the final status of a
// message claimed for its legs.
func completeMessage(t *tx, o outbox.Outcome) (outbox.Status, error) {
	l, ok := t.w.leases.get(o.ID)
	if !ok || l.done || l.token != o.Lease || o.Lease == 0 {
		// Not held: say why.
		_, _, err := messageState(context.Background(), t, o.ID)
		switch {
		case errors.Is(err, outbox.ErrNotFound):
			return "", err
		case err != nil:
			return "", t.fail(err)
		}
		return "", outbox.ErrLeaseLost
	}
	held := outbox.StatusSending
	if !l.stored.Pending() {
		if o.Status != l.stored {
			return "", fmt.Errorf("a %s message claimed for its legs keeps its status, not %s", l.stored, o.Status)
		}
		held = l.stored
	}
	now := nanos(o.Now)
	var next any // NULL once nothing is left to deliver
	switch {
	case o.Status.Pending():
		next = now
		if !o.NextAttemptAt.IsZero() {
			next = nanos(o.NextAttemptAt)
		}
	case !o.LegsDueAt.IsZero():
		next = nanos(o.LegsDueAt)
	}
	if due, ok := next.(int64); ok {
		t.w.due.lower(due) // due again then (see due.go)
	}
	n, err := t.execCount(writeOutcome, string(o.Status), o.Attempts, o.LastError, now, next, next, o.ID)
	if err != nil {
		return "", fmt.Errorf("update message: %w", err)
	}
	if n != 1 {
		// A held message is never deleted: purges take final messages
		// with nothing left to deliver.
		return "", fmt.Errorf("%w: update message: %d rows for a held message", errAbort, n)
	}
	t.w.leases.finish(t, o.ID)
	return held, nil
}

// validRecipientStatus reports whether s is a known recipient state.
func validRecipientStatus(s outbox.RecipientStatus) bool {
	switch s {
	case outbox.RecipientPending, outbox.RecipientSent, outbox.RecipientFailed,
		outbox.RecipientExpired, outbox.RecipientCancelled:
		return true
	}
	return false
}
