package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/outboxmail/outbox"
)

// Complete statements.
const (
	selectLease = `SELECT status, lease, due_at FROM messages WHERE id = ?`
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
	// The outcome is written only while the message is held under the
	// lease (?8, never 0), and the lease is cleared so that it completes
	// once only: updateSent applies to a message claimed as sending,
	// updateLegs to a final message claimed for its legs, which keeps its
	// status (?1).
	updateSent = `UPDATE messages SET status = ?1, attempts = ?2, last_error = ?3, updated_at = ?4,
		next_attempt_at = ?5, due_at = ?6, lease = 0
		WHERE id = ?7 AND lease = ?8 AND status = 'sending'`
	updateLegs = `UPDATE messages SET status = ?1, attempts = ?2, last_error = ?3, updated_at = ?4,
		next_attempt_at = ?5, due_at = ?6, lease = 0
		WHERE id = ?7 AND lease = ?8 AND status = ?1 AND due_at IS NOT NULL`
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

// completeMessage writes the outcome to the message row if it is held
// under o.Lease, and returns the status it had.
func completeMessage(t *tx, o outbox.Outcome) (outbox.Status, error) {
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
	if o.Lease != 0 {
		args := []any{string(o.Status), o.Attempts, o.LastError, now, next, next, o.ID, o.Lease}
		n, err := t.execCount(updateSent, args...)
		if err != nil {
			return "", fmt.Errorf("update message: %w", err)
		}
		if n == 1 {
			return outbox.StatusSending, nil
		}
		if !o.Status.Pending() {
			n, err := t.execCount(updateLegs, args...)
			if err != nil {
				return "", fmt.Errorf("update message: %w", err)
			}
			if n == 1 {
				return o.Status, nil
			}
		}
	}
	// Not written: say why.
	var (
		status string
		lease  int64
		due    sql.NullInt64
	)
	err := t.QueryRowContext(context.Background(), selectLease, o.ID).Scan(&status, &lease, &due)
	if errors.Is(err, sql.ErrNoRows) {
		return "", outbox.ErrNotFound
	}
	if err != nil {
		return "", t.fail(err)
	}
	held := outbox.Status(status)
	legsClaim := !held.Pending() && due.Valid
	if legsClaim && lease != 0 && lease == o.Lease && o.Status != held {
		return "", fmt.Errorf("a %s message claimed for its legs keeps its status, not %s", held, o.Status)
	}
	return "", outbox.ErrLeaseLost
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
