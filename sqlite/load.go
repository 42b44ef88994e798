package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/outboxmail/outbox"
)

// Queries shared by reads and by writes that return records.
const (
	selectRecord = `SELECT ` + recordColumns + ` FROM messages WHERE id = ?`
	// selectRecords reads the records of a JSON array of ids.
	selectRecords = `SELECT ` + recordColumns + ` FROM messages
		WHERE id IN (SELECT value FROM json_each(?))`
	selectRecipients = `SELECT ` + recipientColumns + ` FROM recipients
		WHERE message_id IN (SELECT value FROM json_each(?)) ORDER BY message_id, pos`
	selectBodies   = `SELECT id, raw FROM bodies WHERE id IN (SELECT value FROM json_each(?))`
	selectAttempts = `SELECT ` + attemptColumns + ` FROM attempts WHERE message_id = ? ORDER BY seq`
)

// loadRecord reads message id with its recipients, attempt log and Raw,
// or returns outbox.ErrNotFound.
func loadRecord(ctx context.Context, q querier, id int64) (*outbox.Record, error) {
	r, err := scanRecord(q.QueryRowContext(ctx, selectRecord, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("message %d: %w", id, outbox.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("read message %d: %w", id, err)
	}
	recs := []*outbox.Record{r}
	if err := loadRecipients(ctx, q, recs); err != nil {
		return nil, err
	}
	if err := loadBodies(ctx, q, recs); err != nil {
		return nil, err
	}
	rows, err := q.QueryContext(ctx, selectAttempts, id)
	if err != nil {
		return nil, fmt.Errorf("read attempts of %d: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		a, err := scanAttempt(rows)
		if err != nil {
			return nil, fmt.Errorf("read attempts of %d: %w", id, err)
		}
		r.AttemptLog = append(r.AttemptLog, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read attempts of %d: %w", id, err)
	}
	return r, nil
}

// byID indexes records by id.
func byID(recs []*outbox.Record) (map[int64]*outbox.Record, []int64) {
	m := make(map[int64]*outbox.Record, len(recs))
	ids := make([]int64, len(recs))
	for i, r := range recs {
		m[r.ID] = r
		ids[i] = r.ID
	}
	return m, ids
}

// loadRecipients fills the recipients of recs with one query.
func loadRecipients(ctx context.Context, q querier, recs []*outbox.Record) error {
	if len(recs) == 0 {
		return nil
	}
	m, ids := byID(recs)
	rows, err := q.QueryContext(ctx, selectRecipients, idList(ids))
	if err != nil {
		return fmt.Errorf("read recipients: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		id, rc, err := scanRecipient(rows)
		if err != nil {
			return fmt.Errorf("read recipients: %w", err)
		}
		if r := m[id]; r != nil {
			r.Recipients = append(r.Recipients, rc)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read recipients: %w", err)
	}
	return nil
}

// loadBodies fills Raw of recs with one query.
func loadBodies(ctx context.Context, q querier, recs []*outbox.Record) error {
	if len(recs) == 0 {
		return nil
	}
	m, ids := byID(recs)
	rows, err := q.QueryContext(ctx, selectBodies, idList(ids))
	if err != nil {
		return fmt.Errorf("read bodies: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id  int64
			raw []byte
		)
		if err := rows.Scan(&id, &raw); err != nil {
			return fmt.Errorf("read bodies: %w", err)
		}
		if r := m[id]; r != nil {
			r.Raw = raw
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read bodies: %w", err)
	}
	return nil
}
