package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// TestClaimsDieWithTheProcess: messages claimed by a store that closes
// without their outcomes are due again at once after a reopen, and the old
// leases are lost.
func TestClaimsDieWithTheProcess(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s, err := Open(ctx, Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var recs []*outbox.Record
	for i := range 5 {
		recs = append(recs, newTestRecord(i, t0))
	}
	if _, err := s.Enqueue(ctx, recs); err != nil {
		t.Fatal(err)
	}
	// One message has had an attempt: it comes back deferred.
	first, err := s.Claim(ctx, outbox.ClaimRequest{Now: t0, Lease: time.Hour, Limit: 1})
	if err != nil || len(first) != 1 {
		t.Fatalf("Claim = %v, %v", first, err)
	}
	if err := s.Complete(ctx, outbox.Outcome{ID: first[0].ID, Lease: first[0].Lease, Now: t0,
		Status: outbox.StatusDeferred, NextAttemptAt: t0.Add(time.Minute), Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, outbox.ClaimRequest{Now: t0.Add(time.Minute), Lease: time.Hour, Limit: 3})
	if err != nil || len(claimed) != 3 {
		t.Fatalf("Claim = %d records, %v; want 3", len(claimed), err)
	}
	// The process "dies" with three messages sending under hour-long leases.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	restart := t0.Add(2 * time.Minute)
	s, err = Open(ctx, Config{Dir: dir, Now: func() time.Time { return restart }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// Claims are held in memory: nothing was stored sending.
	if s.Recovered() != 0 {
		t.Errorf("Recovered() = %d, want 0", s.Recovered())
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[outbox.Status]int64{outbox.StatusQueued: 4, outbox.StatusDeferred: 1}
	for _, status := range outbox.Statuses {
		if st.Counts[status] != want[status] {
			t.Errorf("Counts = %v, want %v", st.Counts, want)
			break
		}
	}
	if due, ok, err := s.NextDue(ctx); err != nil || !ok || !due.Equal(t0) {
		t.Errorf("NextDue = %s %v %v, want %s (queued at enqueue)", due, ok, err, t0)
	}
	// Due at once, long before their old leases would have expired.
	again, err := s.Claim(ctx, outbox.ClaimRequest{Now: restart, Lease: time.Hour, Limit: 10})
	if err != nil || len(again) != 5 {
		t.Fatalf("Claim after restart = %d records, %v; want all 5", len(again), err)
	}
	for _, old := range claimed {
		err := s.Complete(ctx, outbox.Outcome{ID: old.ID, Lease: old.Lease, Now: restart, Status: outbox.StatusSent})
		if !errors.Is(err, outbox.ErrLeaseLost) {
			t.Errorf("Complete with a dead process's lease = %v, want ErrLeaseLost", err)
		}
	}
}

// TestOpenRecoversStoredSending: a message an older version stored
// sending (its claim written to the database) goes back to the queue at
// Open, deferred when an attempt was counted.
func TestOpenRecoversStoredSending(t *testing.T) {
	ctx, dir := context.Background(), t.TempDir()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s, res := openWithTwo(t, dir, t0)
	err := s.w.do(ctx, func(tx *tx) error {
		return tx.exec(`UPDATE messages SET status = 'sending', lease = 7, due_at = ?, attempts = id - ?
			WHERE id IN (?, ?)`, nanos(t0.Add(time.Hour)), res[0].ID, res[0].ID, res[1].ID)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	restart := t0.Add(time.Minute)
	s, err = Open(ctx, Config{Dir: dir, Now: func() time.Time { return restart }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Recovered() != 2 {
		t.Errorf("Recovered() = %d, want 2", s.Recovered())
	}
	for i, want := range []outbox.Status{outbox.StatusQueued, outbox.StatusDeferred} {
		r, err := s.Get(ctx, res[i].ID)
		if err != nil || r.Status != want || !r.NextAttemptAt.Equal(restart) {
			t.Errorf("message %d after Open: %v %v, next attempt %s; want %s at %s", i, r.Status, err, r.NextAttemptAt, want, restart)
		}
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Counts[outbox.StatusSending] != 0 || st.Counts[outbox.StatusQueued] != 1 || st.Counts[outbox.StatusDeferred] != 1 {
		t.Errorf("Counts = %v, want one queued and one deferred", st.Counts)
	}
	// The stored lease is lost.
	if err := s.Complete(ctx, outbox.Outcome{ID: res[0].ID, Lease: 7, Now: restart, Status: outbox.StatusSent}); !errors.Is(err, outbox.ErrLeaseLost) {
		t.Errorf("Complete under the stored lease = %v, want ErrLeaseLost", err)
	}
}

// TestIDsNeverReused: ids keep growing across a purge of the newest
// messages and a reopen, and lease tokens across a reopen.
func TestIDsNeverReused(t *testing.T) {
	ctx, dir := context.Background(), t.TempDir()
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s, res := openWithTwo(t, dir, t0)
	last := res[1].ID
	claimed, err := s.Claim(ctx, outbox.ClaimRequest{Now: t0, Lease: time.Hour, Limit: 2})
	if err != nil || len(claimed) != 2 {
		t.Fatalf("Claim = %d records, %v", len(claimed), err)
	}
	var lease int64
	for _, r := range claimed {
		lease = max(lease, r.Lease)
		if err := s.Complete(ctx, outbox.Outcome{ID: r.ID, Lease: r.Lease, Now: t0, Status: outbox.StatusSent}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := s.Purge(ctx, t0.Add(time.Hour), 10); err != nil || n != 2 {
		t.Fatalf("Purge = %d, %v; want both messages gone", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTestDir(t, dir)
	res, err = s.Enqueue(ctx, []*outbox.Record{newTestRecord(3, t0)})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].ID <= last {
		t.Errorf("after purging every message and reopening, a new message got id %d; ids up to %d were used", res[0].ID, last)
	}
	again, err := s.Claim(ctx, outbox.ClaimRequest{Now: t0, Lease: time.Hour, Limit: 1})
	if err != nil || len(again) != 1 {
		t.Fatalf("Claim = %d records, %v", len(again), err)
	}
	if again[0].Lease <= lease {
		t.Errorf("after reopening, a claim got lease token %d; tokens up to %d were used", again[0].Lease, lease)
	}
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Counts[outbox.StatusSending] != 1 || st.Counts[outbox.StatusSent] != 0 {
		t.Errorf("Counts = %v, want the one message sending", st.Counts)
	}
}

// openWithTwo opens the store in dir and enqueues two messages created at t0.
func openWithTwo(t *testing.T, dir string, t0 time.Time) (*Store, []outbox.EnqueueResult) {
	t.Helper()
	s := openTestDir(t, dir)
	res, err := s.Enqueue(context.Background(), []*outbox.Record{newTestRecord(1, t0), newTestRecord(2, t0)})
	if err != nil {
		t.Fatal(err)
	}
	return s, res
}
