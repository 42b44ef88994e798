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
	// upsertRecipient updates a recipient's state, or adds it when a new
	// leg (or address) appears, after the others.
	upsertRecipient = `INSERT INTO recipients (
		message_id, leg, addr, pos, status, reply_code, reply_enhanced, reply_text, updated_at
	) VALUES (?1, ?2, ?3,
		(SELECT coalesce(max(pos), -1) + 1 FROM recipients WHERE message_id = ?1),
		?4, ?5, ?6, ?7, ?8)
	ON CONFLICT (message_id, leg, addr) DO UPDATE SET
		status = excluded.status, reply_code = excluded.reply_code,
		reply_enhanced = excluded.reply_enhanced, reply_text = excluded.reply_text,
		updated_at = excluded.updated_at`
	insertAttempt = `INSERT INTO attempts (
		message_id, seq, at, backend, duration, class, reply_code, reply_enhanced, reply_text, recipients
	) VALUES (?1,
		(SELECT coalesce(max(seq), 0) + 1 FROM attempts WHERE message_id = ?1),
		?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)`
	// The lease is cleared so that it completes once only.
	updateOutcome = `UPDATE messages SET status = ?, attempts = ?, last_error = ?, updated_at = ?,
		next_attempt_at = ?, due_at = ?, lease = 0
		WHERE id = ?`
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
	err := s.w.do(ctx, func(t *tx) error {
		var (
			status string
			lease  int64
			due    sql.NullInt64
		)
		err := t.QueryRowContext(ctx, selectLease, o.ID).Scan(&status, &lease, &due)
		if errors.Is(err, sql.ErrNoRows) {
			return outbox.ErrNotFound
		}
		if err != nil {
			return err
		}
		held := outbox.Status(status)
		legsClaim := !held.Pending() && due.Valid
		if lease == 0 || lease != o.Lease || held != outbox.StatusSending && !legsClaim {
			return outbox.ErrLeaseLost
		}
		if legsClaim && o.Status != held {
			return fmt.Errorf("a %s message claimed for its legs keeps its status, not %s", held, o.Status)
		}
		now := nanos(o.Now)
		for _, rc := range o.Recipients {
			updated := rc.UpdatedAt
			if updated.IsZero() {
				updated = o.Now
			}
			err := t.exec(upsertRecipient, o.ID, rc.Leg, rc.Addr, string(rc.Status),
				rc.Reply.Code, rc.Reply.Enhanced, rc.Reply.Text, nanos(updated))
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
		if err := t.exec(updateOutcome, string(o.Status), o.Attempts, o.LastError, now, next, next, o.ID); err != nil {
			return fmt.Errorf("update message: %w", err)
		}
		t.move(held, o.Status)
		return nil
	})
	if err != nil {
		return fmt.Errorf("complete message %d: %w", o.ID, err)
	}
	return nil
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
