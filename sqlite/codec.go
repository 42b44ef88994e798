package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/outboxmail/outbox"
)

// Times are stored as Unix nanoseconds, UTC. Optional times are NULL when
// zero.

// nanos encodes a time that is always set.
func nanos(t time.Time) int64 { return t.UnixNano() }

// nullNanos encodes an optional time: NULL when zero.
func nullNanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// fromNanos decodes a time.
func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

// fromNullNanos decodes an optional time.
func fromNullNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromNanos(n.Int64)
}

// nullString encodes an optional string: NULL when empty.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// jsonColumn encodes tags or metadata: NULL when empty.
func jsonColumn[T any](v T, empty bool) (any, error) {
	if empty {
		return nil, nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// fromJSON decodes a JSON column into v; NULL leaves v unset.
func fromJSON(s sql.NullString, v any) error {
	if !s.Valid {
		return nil
	}
	return json.Unmarshal([]byte(s.String), v)
}

// recordColumns are the messages columns scanRecord reads, in order.
const recordColumns = `id, message_id, status, sender, subject, priority, backend,
	tags, metadata, idempotency_key, size, attempts, created_at, updated_at,
	lifetime_start, send_at, expires_at, next_attempt_at, last_error`

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// scanRecord reads one row of recordColumns.
func scanRecord(sc scanner) (*outbox.Record, error) {
	var (
		r                              outbox.Record
		status                         string
		tags, meta, idem               sql.NullString
		created, updated, lifetime     int64
		sendAt, expiresAt, nextAttempt sql.NullInt64
	)
	err := sc.Scan(&r.ID, &r.MessageID, &status, &r.From, &r.Subject, &r.Priority, &r.Backend,
		&tags, &meta, &idem, &r.Size, &r.Attempts, &created, &updated,
		&lifetime, &sendAt, &expiresAt, &nextAttempt, &r.LastError)
	if err != nil {
		return nil, err
	}
	r.Status = outbox.Status(status)
	r.IdempotencyKey = idem.String
	r.CreatedAt, r.UpdatedAt, r.LifetimeStart = fromNanos(created), fromNanos(updated), fromNanos(lifetime)
	r.SendAt, r.ExpiresAt, r.NextAttemptAt = fromNullNanos(sendAt), fromNullNanos(expiresAt), fromNullNanos(nextAttempt)
	if err := fromJSON(tags, &r.Tags); err != nil {
		return nil, fmt.Errorf("message %d: tags: %w", r.ID, err)
	}
	if err := fromJSON(meta, &r.Metadata); err != nil {
		return nil, fmt.Errorf("message %d: metadata: %w", r.ID, err)
	}
	return &r, nil
}

// recipientColumns are the recipients columns scanRecipient reads.
const recipientColumns = `message_id, leg, addr, status, reply_code, reply_enhanced, reply_text, updated_at`

// scanRecipient reads one row of recipientColumns.
func scanRecipient(sc scanner) (int64, outbox.Recipient, error) {
	var (
		id      int64
		r       outbox.Recipient
		status  string
		updated sql.NullInt64
	)
	err := sc.Scan(&id, &r.Leg, &r.Addr, &status, &r.Reply.Code, &r.Reply.Enhanced, &r.Reply.Text, &updated)
	r.Status = outbox.RecipientStatus(status)
	r.UpdatedAt = fromNullNanos(updated)
	return id, r, err
}

// attemptColumns are the attempts columns scanAttempt reads.
const attemptColumns = `at, backend, duration, class, reply_code, reply_enhanced, reply_text, recipients`

// scanAttempt reads one row of attemptColumns.
func scanAttempt(sc scanner) (outbox.Attempt, error) {
	var (
		a        outbox.Attempt
		at, dur  int64
		class    string
		rcptJSON string
	)
	if err := sc.Scan(&at, &a.Backend, &dur, &class, &a.Reply.Code, &a.Reply.Enhanced, &a.Reply.Text, &rcptJSON); err != nil {
		return a, err
	}
	a.At, a.Duration, a.Class = fromNanos(at), time.Duration(dur), outbox.Class(class)
	if err := json.Unmarshal([]byte(rcptJSON), &a.Recipients); err != nil {
		return a, fmt.Errorf("attempt recipients: %w", err)
	}
	return a, nil
}

// idList encodes ids as a JSON array, for `IN (SELECT value FROM
// json_each(?))`: one prepared statement serves any number of ids.
func idList(ids []int64) string {
	b := make([]byte, 0, len(ids)*8+2)
	b = append(b, '[')
	for i, id := range ids {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, id, 10)
	}
	return string(append(b, ']'))
}
