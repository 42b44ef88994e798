package storetest

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// testCounters: after a random mix of every write, the status counters
// equal a full count of the messages.
func testCounters(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	rnd := rand.New(rand.NewPCG(1, 2))
	now := at(0)
	var claimed []*outbox.Record
	var known []int64
	n := 0
	finals := []outbox.Status{outbox.StatusSent, outbox.StatusFailed, outbox.StatusExpired,
		outbox.StatusDeferred, outbox.StatusQueued}

	check := func(step int) {
		t.Helper()
		full := make(map[outbox.Status]int64)
		for _, r := range listAll(t, s, "", 50) {
			full[r.Status]++
		}
		got := stats(t, s).Counts
		for _, st := range outbox.Statuses {
			if got[st] != full[st] {
				t.Fatalf("step %d: Stats.Counts = %v, full count = %v", step, got, full)
			}
		}
	}

	for step := range 400 {
		now = now.Add(time.Duration(rnd.IntN(40)) * time.Second)
		switch op := rnd.IntN(10); {
		case op < 3: // enqueue a batch, sometimes with an invalid item or a repeated key
			var batch []*outbox.Record
			for range 1 + rnd.IntN(3) {
				n++
				r := newRecord(n, now)
				switch rnd.IntN(6) {
				case 0:
					r.Recipients = nil
				case 1:
					r.IdempotencyKey = "k" + string(rune('a'+rnd.IntN(5)))
				case 2:
					r.NextAttemptAt = now.Add(time.Duration(rnd.IntN(300)) * time.Second)
				}
				batch = append(batch, r)
			}
			res, err := s.Enqueue(ctx, batch)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range res {
				if r.Err == nil && !r.Existing {
					known = append(known, r.ID)
				}
			}
		case op < 5:
			recs, err := s.Claim(ctx, outbox.ClaimRequest{Now: now, Lease: 2 * time.Minute, Limit: 1 + rnd.IntN(3)})
			if err != nil {
				t.Fatal(err)
			}
			claimed = append(claimed, recs...)
		case op < 7:
			for range 1 + rnd.IntN(4) {
				if len(claimed) == 0 {
					break
				}
				i := rnd.IntN(len(claimed))
				r := claimed[i]
				claimed = slices.Delete(claimed, i, i+1)
				st := finals[rnd.IntN(len(finals))]
				o := outbox.Outcome{ID: r.ID, Lease: r.Lease, Now: now, Status: st, Attempts: r.Attempts + 1}
				if st.Pending() {
					o.NextAttemptAt = now.Add(time.Duration(rnd.IntN(120)) * time.Second)
				}
				// Sometimes a leg stays pending after the message is final;
				// a message claimed for its leg keeps its status.
				leg := outbox.Recipient{Addr: r.Recipients[0].Addr, Leg: "1", Status: outbox.RecipientPending}
				switch {
				case !r.Status.Pending():
					o.Status = r.Status
					if rnd.IntN(2) == 0 {
						o.LegsDueAt = now.Add(time.Duration(rnd.IntN(120)) * time.Second)
					} else {
						leg.Status = outbox.RecipientSent
					}
					o.Recipients = append(o.Recipients, leg)
				case !st.Pending() && rnd.IntN(3) == 0:
					o.LegsDueAt = now.Add(time.Duration(rnd.IntN(120)) * time.Second)
					o.Recipients = append(o.Recipients, leg)
				}
				// The lease may have expired and the message been claimed
				// again, or purged after another outcome: then it is lost.
				if err := s.Complete(ctx, o); err != nil && !errors.Is(err, outbox.ErrLeaseLost) && !errors.Is(err, outbox.ErrNotFound) {
					t.Fatal(err)
				}
			}
		case op < 8:
			if len(known) > 0 {
				_, err := s.Retry(ctx, known[rnd.IntN(len(known))], now)
				allowed(t, err)
			}
		case op < 9:
			if len(known) > 0 {
				_, err := s.Cancel(ctx, known[rnd.IntN(len(known))], now)
				allowed(t, err)
			}
		default:
			if _, err := s.Purge(ctx, now.Add(-time.Duration(rnd.IntN(600))*time.Second), 1+rnd.IntN(4)); err != nil {
				t.Fatal(err)
			}
		}
		if step%50 == 49 {
			check(step)
		}
	}
	check(400)
}

// allowed fails the test unless err is nil or an answer Retry and Cancel
// may give for a message in the wrong state or already purged.
func allowed(t *testing.T, err error) {
	t.Helper()
	var se *outbox.StateError
	if err != nil && !errors.As(err, &se) && !errors.Is(err, outbox.ErrNotFound) && !errors.Is(err, outbox.ErrPastExpiry) {
		t.Fatal(err)
	}
}

// testNextDue: the earliest due time of pending messages, lease expiries
// included; none once nothing is pending.
func testNextDue(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	if _, ok, err := s.NextDue(ctx); err != nil || ok {
		t.Fatalf("NextDue on an empty store: ok=%v err=%v", ok, err)
	}
	mk := func(n int, due time.Duration, p outbox.Priority) *outbox.Record {
		r := newRecord(n, at(0))
		r.NextAttemptAt, r.Priority = at(due), p
		return r
	}
	id := enqueue(t, s, mk(1, 5*time.Minute, outbox.PriorityNormal), mk(2, 2*time.Minute, outbox.PriorityLow),
		mk(3, 9*time.Minute, outbox.PriorityHigh))
	wantDue := func(want time.Time) {
		t.Helper()
		got, ok, err := s.NextDue(ctx)
		if err != nil || !ok || !got.Equal(want) {
			t.Errorf("NextDue = %s, %v, %v; want %s", got, ok, err, want)
		}
	}
	wantDue(at(2 * time.Minute))
	r := claimOnly(t, s, at(2*time.Minute), id[1])
	wantDue(at(2*time.Minute + lease))
	if err := s.Complete(ctx, outbox.Outcome{ID: id[1], Lease: r.Lease, Now: at(3 * time.Minute),
		Status: outbox.StatusDeferred, NextAttemptAt: at(20 * time.Minute), Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	wantDue(at(5 * time.Minute))
	for _, i := range []int{0, 2} {
		if _, err := s.Cancel(ctx, id[i], at(4*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	wantDue(at(20 * time.Minute))
	settle(t, s, id[1], outbox.StatusSent, at(20*time.Minute))
	if _, ok, err := s.NextDue(ctx); err != nil || ok {
		t.Errorf("NextDue with nothing pending: ok=%v err=%v", ok, err)
	}
}

// testOldestPending: Stats.OldestPending is the creation time of the
// oldest queued, deferred or sending message.
func testOldestPending(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	if st := stats(t, s); !st.OldestPending.IsZero() {
		t.Errorf("OldestPending on an empty store = %s, want zero", st.OldestPending)
	}
	var recs []*outbox.Record
	for i := range 4 {
		recs = append(recs, newRecord(i, at(time.Duration(i)*time.Minute)))
	}
	id := enqueue(t, s, recs...)
	wantOldest := func(want time.Time) {
		t.Helper()
		if got := stats(t, s).OldestPending; !got.Equal(want) {
			t.Errorf("OldestPending = %s, want %s", got, want)
		}
	}
	wantOldest(at(0))
	if _, err := s.Cancel(ctx, id[0], at(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantOldest(at(time.Minute))
	// Sending and deferred count as pending.
	r := claim(t, s, at(time.Hour), 1)[0]
	if r.ID != id[1] {
		t.Fatalf("claimed %d, want %d", r.ID, id[1])
	}
	wantOldest(at(time.Minute))
	if err := s.Complete(ctx, outbox.Outcome{ID: r.ID, Lease: r.Lease, Now: at(time.Hour), Status: outbox.StatusDeferred,
		NextAttemptAt: at(2 * time.Hour), Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	wantOldest(at(time.Minute))
	if _, err := s.Cancel(ctx, id[1], at(time.Hour)); err != nil {
		t.Fatal(err)
	}
	wantOldest(at(2 * time.Minute))
	for _, i := range []int{2, 3} {
		if _, err := s.Cancel(ctx, id[i], at(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	wantOldest(time.Time{})
}
