package sqlite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// TestBatchRowsRoundTrip: a call of 101 messages (chunks of 64, 32, 4 and
// 1 rows) with one to three recipients each stores every message with its
// own body and its recipients in order.
func TestBatchRowsRoundTrip(t *testing.T) {
	s := openTest(t)
	now := time.Now().UTC()
	recs := make([]*outbox.Record, 101)
	for i := range recs {
		r := newTestRecord(i, now)
		r.Raw = fmt.Appendf(nil, "Subject: %d\r\n\r\nbody %d\r\n", i, i)
		r.Size = len(r.Raw)
		r.Recipients = nil
		for j := range 1 + i%3 {
			r.Recipients = append(r.Recipients, outbox.Recipient{Addr: fmt.Sprintf("r%d-%d@example.org", i, j), Status: outbox.RecipientPending})
		}
		recs[i] = r
	}
	res, err := s.Enqueue(context.Background(), recs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Err != nil {
			t.Fatalf("item %d: %v", i, r.Err)
		}
		got, err := s.Get(context.Background(), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.Raw, recs[i].Raw) {
			t.Errorf("message %d: body %q, want %q", i, got.Raw, recs[i].Raw)
		}
		var want, have []string
		for _, rc := range recs[i].Recipients {
			want = append(want, rc.Addr)
		}
		for _, rc := range got.Recipients {
			have = append(have, rc.Addr)
		}
		if !slices.Equal(have, want) {
			t.Errorf("message %d: recipients %v, want %v", i, have, want)
		}
	}
}

// TestBufferedRowsBeforeASavepoint: the rows an enqueue buffered are
// written before another request of the group runs, so a request that
// fails in its savepoint rolls back only its own writes.
func TestBufferedRowsBeforeASavepoint(t *testing.T) {
	s := openTest(t)
	release := holdWriter(t, s)
	enq := make(chan []outbox.EnqueueResult, 1)
	go func() {
		res, err := s.Enqueue(context.Background(), []*outbox.Record{newTestRecord(1, time.Now().UTC())})
		if err != nil {
			t.Errorf("Enqueue: %v", err)
		}
		enq <- res
	}()
	waitQueued(t, s, 1)
	failing := errors.New("refused")
	done := make(chan error, 1)
	go func() {
		done <- s.w.do(context.Background(), func(t *tx) error {
			var n int
			if err := t.QueryRowContext(context.Background(), `SELECT count(*) FROM messages`).Scan(&n); err != nil {
				return err
			}
			if n != 1 {
				return fmt.Errorf("the request sees %d messages, want the enqueued one", n)
			}
			if err := t.exec(`UPDATE meta SET value = value + 1 WHERE key = 'ping'`); err != nil {
				return err
			}
			return failing
		})
	}()
	waitQueued(t, s, 2)
	release()
	if err := <-done; !errors.Is(err, failing) {
		t.Fatalf("savepoint request = %v, want %v", err, failing)
	}
	res := <-enq
	if res == nil || res[0].Err != nil {
		t.Fatalf("enqueue: %+v", res)
	}
	if _, err := s.Get(context.Background(), res[0].ID); err != nil {
		t.Errorf("the enqueued message after the failed request: %v", err)
	}
	var ping int64
	if err := s.rdb.QueryRow(`SELECT value FROM meta WHERE key = 'ping'`).Scan(&ping); err != nil || ping != 0 {
		t.Errorf("ping = %d, %v; want 0, the failed request rolled back", ping, err)
	}
}
