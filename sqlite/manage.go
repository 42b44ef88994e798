package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/outboxmail/outbox"
)

// Operator statements.
const (
	selectState = `SELECT status, expires_at FROM messages WHERE id = ?`
	requeue     = `UPDATE messages SET status = 'queued', attempts = 0, lifetime_start = ?1,
		next_attempt_at = ?1, due_at = ?1, updated_at = ?1
		WHERE id = ?2`
	// Recipients not yet sent go again; sent ones stay sent.
	requeueRecipients = `UPDATE recipients SET status = 'pending', updated_at = ?1
		WHERE message_id = ?2 AND status IN ('failed', 'expired')`
	cancelMessage = `UPDATE messages SET status = 'cancelled', next_attempt_at = NULL, due_at = NULL,
		updated_at = ?1
		WHERE id = ?2`
	cancelRecipients = `UPDATE recipients SET status = 'cancelled', updated_at = ?1
		WHERE message_id = ?2 AND status = 'pending'`
	// A final message with pending legs (due_at set) is not purged. The
	// status condition is messages_purge's, word for word.
	selectPurgeable = `SELECT id, status FROM messages INDEXED BY messages_purge
		WHERE (status = 'sent' OR status = 'failed' OR status = 'expired' OR status = 'cancelled')
		AND updated_at < ? AND due_at IS NULL
		ORDER BY updated_at LIMIT ?`
	deleteMessages   = `DELETE FROM messages WHERE id IN (SELECT value FROM json_each(?))`
	deleteBodies     = `DELETE FROM bodies WHERE id IN (SELECT value FROM json_each(?))`
	deleteRecipients = `DELETE FROM recipients WHERE message_id IN (SELECT value FROM json_each(?))`
	deleteAttempts   = `DELETE FROM attempts WHERE message_id IN (SELECT value FROM json_each(?))`
	ping             = `UPDATE meta SET value = value + 1 WHERE key = 'ping'`
)

// Retry puts a deferred, failed or expired message back in the queue, due
// now, with its attempts and lifetime reset; its failed and expired
// recipients become pending again, sent ones stay sent. A final message
// held by a claim for its pending legs is refused as sending. Errors wrap
// outbox.ErrNotFound, *outbox.StateError or outbox.ErrPastExpiry.
func (s *Store) Retry(ctx context.Context, id int64, now time.Time) (*outbox.Record, error) {
	now = now.UTC()
	var rec *outbox.Record
	err := s.w.do(ctx, func(t *tx) error {
		status, expires, err := heldState(ctx, t, id, now)
		if err != nil {
			return err
		}
		switch status {
		case outbox.StatusDeferred, outbox.StatusFailed, outbox.StatusExpired:
		default:
			return &outbox.StateError{Op: "retry", Status: status}
		}
		if !expires.IsZero() && !expires.After(now) {
			return outbox.ErrPastExpiry
		}
		if _, ok := t.w.leases.get(id); ok {
			// A legs claim whose lease ran out: its outcome, should it
			// still come, finds the lease lost.
			t.w.leases.finish(t, id)
		}
		if err := t.exec(requeue, nanos(now), id); err != nil {
			return err
		}
		if err := t.exec(requeueRecipients, nanos(now), id); err != nil {
			return err
		}
		t.move(status, outbox.StatusQueued)
		rec, err = loadRecord(ctx, t, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("retry message %d: %w", id, err)
	}
	return rec, nil
}

// Cancel stops a queued or deferred message; its pending recipients become
// cancelled. Errors wrap outbox.ErrNotFound or *outbox.StateError.
func (s *Store) Cancel(ctx context.Context, id int64, now time.Time) (*outbox.Record, error) {
	now = now.UTC()
	var rec *outbox.Record
	err := s.w.do(ctx, func(t *tx) error {
		status, _, err := heldState(ctx, t, id, now)
		if err != nil {
			return err
		}
		if status != outbox.StatusQueued && status != outbox.StatusDeferred {
			return &outbox.StateError{Op: "cancel", Status: status}
		}
		if err := t.exec(cancelMessage, nanos(now), id); err != nil {
			return err
		}
		if err := t.exec(cancelRecipients, nanos(now), id); err != nil {
			return err
		}
		t.move(status, outbox.StatusCancelled)
		rec, err = loadRecord(ctx, t, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cancel message %d: %w", id, err)
	}
	return rec, nil
}

// messageState reads a message's status and expiry, or ErrNotFound.
func messageState(ctx context.Context, t *tx, id int64) (outbox.Status, time.Time, error) {
	var (
		status  string
		expires sql.NullInt64
	)
	err := t.QueryRowContext(ctx, selectState, id).Scan(&status, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, outbox.ErrNotFound
	}
	if err != nil {
		return "", time.Time{}, err
	}
	return outbox.Status(status), fromNullNanos(expires), nil
}

// heldState is messageState with the claims held: a message a lease
// holds is sending, and so is a final message a claim holds for its
// pending legs until that lease runs out (queued again, or retried, it
// would be claimed again and those legs sent twice).
func heldState(ctx context.Context, t *tx, id int64, now time.Time) (outbox.Status, time.Time, error) {
	status, expires, err := messageState(ctx, t, id)
	if err != nil {
		return status, expires, err
	}
	if l, ok := t.w.leases.get(id); ok && !l.done && (l.stored.Pending() || l.until > nanos(now)) {
		status = outbox.StatusSending
	}
	return status, expires, nil
}

// Purge deletes up to limit final messages (sent, failed, expired,
// cancelled) last updated before cutoff, oldest first, with their bodies,
// recipients and attempt logs. Pending messages are never deleted.
func (s *Store) Purge(ctx context.Context, cutoff time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	n := 0
	err := s.w.do(ctx, func(t *tx) error {
		n = 0
		rows, err := t.QueryContext(ctx, selectPurgeable, nanos(cutoff), limit)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var (
				id     int64
				status string
			)
			if err := rows.Scan(&id, &status); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
			t.delta[statusIndex(outbox.Status(status))]--
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		// The largest id may go: keep the sequence past it.
		if err := t.exec(`UPDATE meta SET value = max(value, ?) WHERE key = 'next_id'`, t.w.nextID); err != nil {
			return err
		}
		list := idList(ids)
		for _, q := range []string{deleteMessages, deleteBodies, deleteRecipients, deleteAttempts} {
			if err := t.exec(q, list); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("purge: %w", err)
	}
	return n, nil
}

// Ping checks that the store is open and that a write commits, through the
// writer like any other write.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.do(ctx, func(t *tx) error { return t.exec(ping) }); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	return nil
}
