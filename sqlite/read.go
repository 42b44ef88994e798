package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/outboxmail/outbox"
)

// List page sizes.
const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// Read queries. Each is served by an index (see queryplan_test.go);
// INDEXED BY turns a lost index into an error rather than a slow scan.
const (
	listAll = `SELECT ` + recordColumns + ` FROM messages
		WHERE id < ? ORDER BY id DESC LIMIT ?`
	listByStatus = `SELECT ` + recordColumns + ` FROM messages INDEXED BY messages_status
		WHERE status = ? AND id < ? ORDER BY id DESC`
	listByIDs = selectRecords + ` ORDER BY id DESC`
	// The oldest pending message is the first id of each pending status
	// stored (ids grow with time), through messages_status: a claimed
	// message keeps its stored status.
	selectOldestPending = `SELECT min(c) FROM (
		SELECT (SELECT created_at FROM messages INDEXED BY messages_status WHERE status = 'queued' ORDER BY id LIMIT 1) AS c
		UNION ALL
		SELECT (SELECT created_at FROM messages INDEXED BY messages_status WHERE status = 'deferred' ORDER BY id LIMIT 1))`
	// The earliest due time is the first entry of each priority in
	// messages_due (pending messages and final ones with pending legs)
	// that no lease holds: selectDueFrom walks one priority's entries.
	selectDueFrom = `SELECT id, due_at FROM messages INDEXED BY messages_due
		WHERE priority = ? AND due_at IS NOT NULL` + selectDueOrder
)

// read runs fn in a read transaction of the read pool: one consistent
// snapshot, never waiting for the writer.
func (s *Store) read(ctx context.Context, fn func(q querier) error) error {
	if s.isClosed() {
		return ErrClosed
	}
	t, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer t.Rollback()
	return fn(t)
}

// Get returns message id with its recipients, attempt log and Raw, or an
// error wrapping outbox.ErrNotFound.
func (s *Store) Get(ctx context.Context, id int64) (*outbox.Record, error) {
	var r *outbox.Record
	err := s.read(ctx, func(q querier) (err error) {
		r, err = loadRecord(ctx, q, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get: %w", err)
	}
	s.w.leases.show(r)
	return r, nil
}

// IdempotencyKey returns the ID of the message stored with key, or
// outbox.ErrNotFound.
func (s *Store) IdempotencyKey(ctx context.Context, key string) (int64, error) {
	var id int64
	err := s.read(ctx, func(q querier) error {
		return q.QueryRowContext(ctx, selectIdempotent, key).Scan(&id)
	})
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, outbox.ErrNotFound
	case err != nil:
		return 0, fmt.Errorf("idempotency key: %w", err)
	}
	return id, nil
}

// List returns messages newest first, with recipients but without Raw or
// attempt log. The page size defaults to 50 and is capped at 1000. The
// messages leases hold are listed sending (see leases.go).
func (s *Store) List(ctx context.Context, lq outbox.ListQuery) (outbox.Page, error) {
	limit := lq.Limit
	if limit <= 0 {
		limit = defaultPageSize
	}
	limit = min(limit, maxPageSize)
	before := lq.Before
	if before <= 0 {
		before = math.MaxInt64
	}
	lt := s.w.leases
	var page outbox.Page
	err := s.read(ctx, func(q querier) error {
		// One record more than the page tells whether another page exists.
		keep := func(rows *sql.Rows, err error) error {
			if err != nil {
				return err
			}
			defer rows.Close()
			for len(page.Records) <= limit && rows.Next() {
				r, err := scanRecord(rows)
				if err != nil {
					return err
				}
				lt.show(r)
				if lq.Status == "" || r.Status == lq.Status {
					page.Records = append(page.Records, r)
				}
			}
			return rows.Err()
		}
		switch lq.Status {
		case "":
			if err := keep(q.QueryContext(ctx, listAll, before, limit+1)); err != nil {
				return err
			}
		case outbox.StatusSending:
			// From the lease table, whose newest ids may not be stored
			// yet (a hand-off before its commit): ask again below the
			// last id until the page is full or no id is left.
			for cursor := before; len(page.Records) <= limit; {
				ids := lt.sending(cursor, limit+1-len(page.Records))
				if len(ids) == 0 {
					break
				}
				if err := keep(q.QueryContext(ctx, listByIDs, idList(ids))); err != nil {
					return err
				}
				cursor = ids[len(ids)-1]
			}
		default:
			// No LIMIT: rows the leases show sending are passed over,
			// and the walk stops once the page is full.
			if err := keep(q.QueryContext(ctx, listByStatus, string(lq.Status), before)); err != nil {
				return err
			}
		}
		if len(page.Records) > limit {
			page.Records = page.Records[:limit]
			page.Next = page.Records[limit-1].ID
		}
		return loadRecipients(ctx, q, page.Records)
	})
	if err != nil {
		return outbox.Page{}, fmt.Errorf("list: %w", err)
	}
	return page, nil
}

// Stats returns the number of messages per status, from the counters the
// writer keeps (counted at open, moved by every commit), and the oldest
// pending message's creation time.
func (s *Store) Stats(ctx context.Context) (outbox.Stats, error) {
	st := outbox.Stats{Counts: make(map[outbox.Status]int64, len(outbox.Statuses))}
	for i, n := range s.w.statusCounts() {
		st.Counts[statusAt(i)] = n
	}
	err := s.read(ctx, func(q querier) error {
		var oldest sql.NullInt64
		if err := q.QueryRowContext(ctx, selectOldestPending).Scan(&oldest); err != nil {
			return err
		}
		st.OldestPending = fromNullNanos(oldest)
		return nil
	})
	if err != nil {
		return outbox.Stats{}, fmt.Errorf("stats: %w", err)
	}
	return st, nil
}

// NextDue returns the earliest due time of a pending message (a lease
// expiry counts), or ok=false when nothing is pending.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	lt := s.w.leases
	var due sql.NullInt64
	err := s.read(ctx, func(q querier) error {
		for _, p := range outbox.Priorities {
			d, err := firstUnheld(ctx, q, lt.held, p)
			if err != nil {
				return err
			}
			if d.Valid && (!due.Valid || d.Int64 < due.Int64) {
				due = d
			}
		}
		return nil
	})
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next due: %w", err)
	}
	if until, ok := lt.firstExpiry(); ok && (!due.Valid || until < due.Int64) {
		due = sql.NullInt64{Int64: until, Valid: true}
	}
	return fromNullNanos(due), due.Valid, nil
}

// firstUnheld returns the due time of priority p's first entry in
// messages_due that held says no lease holds (their expiries count
// apart).
func firstUnheld(ctx context.Context, q querier, held func(id int64) bool, p outbox.Priority) (sql.NullInt64, error) {
	rows, err := q.QueryContext(ctx, selectDueFrom, int64(p))
	if err != nil {
		return sql.NullInt64{}, err
	}
	defer rows.Close()
	for rows.Next() {
		var (
			id  int64
			due sql.NullInt64
		)
		if err := rows.Scan(&id, &due); err != nil {
			return sql.NullInt64{}, err
		}
		if !held(id) {
			return due, nil
		}
	}
	return sql.NullInt64{}, rows.Err()
}
