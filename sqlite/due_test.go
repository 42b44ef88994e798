package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// TestDueMarkAfterRollback: a group that claims the only due message and
// then, in a later request, hands a new one off (nothing is due once the
// claim holds it) fails as a whole. The claim is undone, so the next
// message enqueued sending must find the due one and be stored queued.
func TestDueMarkAfterRollback(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	now := time.Now().UTC()
	sending := func(n int) *outbox.Record {
		r := newTestRecord(n, now)
		r.Status, r.LeaseUntil = outbox.StatusSending, now.Add(time.Minute)
		return r
	}
	if _, err := s.Enqueue(ctx, []*outbox.Record{newTestRecord(1, now)}); err != nil {
		t.Fatal(err)
	}

	release := holdWriter(t, s)
	claimed := make(chan error, 1)
	go func() {
		_, err := s.Claim(ctx, outbox.ClaimRequest{Now: now, Lease: time.Minute, Limit: 10})
		claimed <- err
	}()
	waitQueued(t, s, 1)
	handedOff := make(chan error, 1)
	go func() {
		res, err := s.Enqueue(ctx, []*outbox.Record{sending(2)})
		if err == nil && res[0].Lease == 0 {
			err = errors.New("not handed off in the failed group")
		}
		handedOff <- err
	}()
	waitQueued(t, s, 2)
	failed := make(chan error, 1)
	go func() {
		failed <- s.w.doBare(ctx, func(t *tx) error {
			return t.exec(`INSERT INTO meta (key, value) VALUES ('next_id', 1)`) // key taken
		})
	}()
	waitQueued(t, s, 3)
	release()
	for what, ch := range map[string]chan error{"claim": claimed, "hand-off": handedOff, "failing request": failed} {
		if err := <-ch; !errors.Is(err, errAbort) {
			t.Errorf("%s in the failed group: %v, want the group's failure", what, err)
		}
	}

	res, err := s.Enqueue(ctx, []*outbox.Record{sending(3)})
	if err != nil || res[0].Err != nil {
		t.Fatalf("enqueue after the rollback: %v %+v", err, res)
	}
	if res[0].Lease != 0 {
		t.Error("enqueued sending after the rollback: handed off, past the due message the rollback unclaimed")
	}
}

// TestDueMarkSameGroupOutcome: in one group, an outcome that leaves a
// claimed message due at once and then a message enqueued sending: the
// look counts the message by its outcome, not by the lease it just
// finished, and the new message is stored queued.
func TestDueMarkSameGroupOutcome(t *testing.T) {
	s := openTest(t)
	ctx := context.Background()
	now := time.Now().UTC()
	sending := func(n int, at time.Time) *outbox.Record {
		r := newTestRecord(n, at)
		r.Status, r.LeaseUntil = outbox.StatusSending, at.Add(time.Minute)
		return r
	}
	if _, err := s.Enqueue(ctx, []*outbox.Record{newTestRecord(1, now)}); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, outbox.ClaimRequest{Now: now, Lease: time.Minute, Limit: 10})
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v, %d claimed", err, len(claimed))
	}
	if res, err := s.Enqueue(ctx, []*outbox.Record{sending(2, now)}); err != nil || res[0].Lease == 0 {
		t.Fatalf("with the only message claimed: %v %+v, want it handed off", err, res)
	}

	release := holdWriter(t, s)
	completed := make(chan error, 1)
	go func() {
		r := claimed[0]
		completed <- s.Complete(ctx, outbox.Outcome{ID: r.ID, Lease: r.Lease, Now: now.Add(time.Second),
			Status: outbox.StatusDeferred, Attempts: 1, LastError: "451 later", NextAttemptAt: now.Add(time.Second),
			Recipients: []outbox.Recipient{{Addr: "user@example.org", Status: outbox.RecipientPending}}})
	}()
	waitQueued(t, s, 1)
	type result struct {
		res []outbox.EnqueueResult
		err error
	}
	enqueued := make(chan result, 1)
	go func() {
		res, err := s.Enqueue(ctx, []*outbox.Record{sending(3, now.Add(2*time.Second))})
		enqueued <- result{res, err}
	}()
	waitQueued(t, s, 2)
	release()
	if err := <-completed; err != nil {
		t.Fatalf("complete: %v", err)
	}
	got := <-enqueued
	if got.err != nil || got.res[0].Err != nil {
		t.Fatalf("enqueue: %v %+v", got.err, got.res)
	}
	if got.res[0].Lease != 0 {
		t.Error("enqueued in the outcome's group, after it left its message due: handed off, want it queued")
	}
}
