package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/outboxmail/outbox"
)

// recoverSending returns every message stored sending to the queue, due
// now: deferred when an attempt was already counted, else queued. A late
// Complete under an old claim's lease gets ErrLeaseLost: no lease held in
// memory matches it.
const recoverSending = `UPDATE messages SET
		status = CASE WHEN attempts > 0 THEN 'deferred' ELSE 'queued' END,
		next_attempt_at = ?1, due_at = ?1, updated_at = ?1
	WHERE status = 'sending'
	RETURNING status`

// recoverOrphans runs at Open, once the directory lock proves no other
// process is delivering: the messages an older version (which stored its
// claims) left sending go back to the queue at once rather than waiting
// for their leases to expire. This version stores none.
func (s *Store) recoverOrphans(ctx context.Context, now time.Time) (int, error) {
	n := 0
	err := s.w.do(ctx, func(t *tx) error {
		rows, err := t.QueryContext(ctx, recoverSending, nanos(now))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var status string
			if err := rows.Scan(&status); err != nil {
				return err
			}
			t.move(outbox.StatusSending, outbox.Status(status))
			n++
		}
		return rows.Err()
	})
	if err != nil {
		return 0, fmt.Errorf("recover sending messages: %w", err)
	}
	return n, nil
}
