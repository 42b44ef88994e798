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
