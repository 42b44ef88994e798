package storetest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// testConcurrentClaim: claimers racing over the same due messages never
// get the same one, and together get them all.
func testConcurrentClaim(t *testing.T, open Open) {
	s := open(t)
	const total, claimers = 500, 8
	var recs []*outbox.Record
	for i := range total {
		recs = append(recs, newRecord(i, at(0)))
	}
	want := enqueue(t, s, recs...)

	var (
		mu     sync.Mutex
		got    = make(map[int64]int64) // id → lease
		leases = make(map[int64]bool)
		wg     sync.WaitGroup
	)
	for c := range claimers {
		wg.Go(func() {
			for {
				recs, err := s.Claim(context.Background(), outbox.ClaimRequest{Now: at(time.Second), Lease: lease, Limit: 3 + c})
				if err != nil {
					t.Errorf("claimer %d: %v", c, err)
					return
				}
				if len(recs) == 0 {
					return
				}
				mu.Lock()
				for _, r := range recs {
					if prev, dup := got[r.ID]; dup {
						t.Errorf("message %d claimed twice (leases %d and %d)", r.ID, prev, r.Lease)
					}
					if leases[r.Lease] {
						t.Errorf("lease %d handed out twice", r.Lease)
					}
					got[r.ID], leases[r.Lease] = r.Lease, true
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, id := range want {
		if _, ok := got[id]; !ok {
			t.Errorf("message %d was never claimed", id)
		}
	}
	if len(got) != total {
		t.Errorf("claimed %d messages, want %d", len(got), total)
	}
	wantCounts(t, s, map[outbox.Status]int64{outbox.StatusSending: total})
}

// testLeaseExpiry: a message whose lease expired is claimed again with a
// new lease; the old lease can no longer complete it.
func testLeaseExpiry(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	id := enqueue(t, s, newRecord(1, at(0)))[0]
	first := claimOnly(t, s, at(0), id)
	if first.Lease == 0 {
		t.Error("claim returned no lease")
	}
	sameRaw(t, "claimed", first.Raw, rawFor(1))
	if got := claim(t, s, at(30*time.Second), 10); len(got) != 0 {
		t.Fatalf("claim during the lease returned %v", ids(got))
	}
	if due, ok, err := s.NextDue(ctx); err != nil || !ok || !due.Equal(at(lease)) {
		t.Errorf("NextDue while sending = %s, %v, %v; want the lease expiry %s", due, ok, err, at(lease))
	}
	second := claimOnly(t, s, at(61*time.Second), id)
	if second.Lease == first.Lease {
		t.Fatalf("claim after expiry reused lease %d", first.Lease)
	}
	old := outbox.Outcome{ID: id, Lease: first.Lease, Now: at(62 * time.Second), Status: outbox.StatusSent,
		Recipients: []outbox.Recipient{{Addr: "user1@example.org", Status: outbox.RecipientSent}}}
	if err := s.Complete(ctx, old); !errors.Is(err, outbox.ErrLeaseLost) {
		t.Fatalf("Complete with the expired lease: %v, want ErrLeaseLost", err)
	}
	if r := get(t, s, id); r.Status != outbox.StatusSending || r.Recipients[0].Status != outbox.RecipientPending {
		t.Fatalf("a refused outcome changed the message: %s, %+v", r.Status, r.Recipients)
	}
	cur := old
	cur.Lease = second.Lease
	if err := s.Complete(ctx, cur); err != nil {
		t.Fatalf("Complete with the current lease: %v", err)
	}
	if r := get(t, s, id); r.Status != outbox.StatusSent {
		t.Errorf("status = %s, want sent", r.Status)
	}
	wantCounts(t, s, map[outbox.Status]int64{outbox.StatusSent: 1})
}

// countByPriority counts claimed records per priority.
func countByPriority(recs []*outbox.Record) map[outbox.Priority]int {
	m := make(map[outbox.Priority]int)
	for _, r := range recs {
		m[r.Priority]++
	}
	return m
}

// testPriorityShares: a claim is split 6:3:1 by default; an unused share
// passes down; a lone priority takes the whole claim.
func testPriorityShares(t *testing.T, open Open) {
	fill := func(s outbox.Store, counts map[outbox.Priority]int) {
		var recs []*outbox.Record
		n := 0
		for p, c := range counts {
			for range c {
				n++
				r := newRecord(n, at(0))
				r.Priority = p
				recs = append(recs, r)
			}
		}
		enqueue(t, s, recs...)
	}
	H, N, L := outbox.PriorityHigh, outbox.PriorityNormal, outbox.PriorityLow
	cases := []struct {
		name  string
		have  map[outbox.Priority]int
		limit int
		want  map[outbox.Priority]int
	}{
		{"all busy", map[outbox.Priority]int{H: 20, N: 20, L: 20}, 10, map[outbox.Priority]int{H: 6, N: 3, L: 1}},
		{"no high", map[outbox.Priority]int{N: 20, L: 20}, 10, map[outbox.Priority]int{N: 9, L: 1}},
		{"only low", map[outbox.Priority]int{L: 20}, 10, map[outbox.Priority]int{L: 10}},
		{"few high", map[outbox.Priority]int{H: 2, N: 20, L: 20}, 10, map[outbox.Priority]int{H: 2, N: 7, L: 1}},
		{"few of each", map[outbox.Priority]int{H: 1, N: 1, L: 20}, 10, map[outbox.Priority]int{H: 1, N: 1, L: 8}},
		// Low's unused share goes back to high, after its first share.
		{"left over back to high", map[outbox.Priority]int{H: 20, N: 2}, 10, map[outbox.Priority]int{H: 8, N: 2}},
		{"left over back to normal", map[outbox.Priority]int{H: 1, N: 20}, 10, map[outbox.Priority]int{H: 1, N: 9}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			fill(s, tc.have)
			got := countByPriority(claim(t, s, at(time.Second), tc.limit))
			for _, p := range outbox.Priorities {
				if got[p] != tc.want[p] {
					t.Errorf("claimed %v, want %v", got, tc.want)
					break
				}
			}
		})
	}
	t.Run("left over taken in order", func(t *testing.T) {
		// Twenty high messages, ids 1-20, then two normal ones: the
		// claim's second pass over high takes the next two in turn, so
		// the claim holds high 1-8, never a later one.
		s := open(t)
		var recs []*outbox.Record
		for i := range 22 {
			r := newRecord(i+1, at(0))
			r.Priority = H
			if i >= 20 {
				r.Priority = N
			}
			recs = append(recs, r)
		}
		ids := enqueue(t, s, recs...)
		got := map[int64]bool{}
		for _, r := range claim(t, s, at(time.Second), 10) {
			got[r.ID] = true
		}
		for i, id := range ids {
			if want := i < 8 || i >= 20; got[id] != want {
				t.Errorf("message %d (%v): claimed %v, want %v", i+1, recs[i].Priority, got[id], want)
			}
		}
	})
	t.Run("custom weights", func(t *testing.T) {
		s := open(t)
		fill(s, map[outbox.Priority]int{H: 20, N: 20, L: 20})
		recs, err := s.Claim(context.Background(), outbox.ClaimRequest{Now: at(time.Second), Lease: lease, Limit: 10, Weights: [3]int{1, 1, 8}})
		if err != nil {
			t.Fatal(err)
		}
		want := outbox.ClaimShares(10, [3]int{1, 1, 8})
		got := countByPriority(recs)
		if got[H] != want[0] || got[N] != want[1] || got[L] != want[2] {
			t.Errorf("claimed %v, want high %d normal %d low %d", got, want[0], want[1], want[2])
		}
	})
}

// testFIFO: within a priority, messages are claimed by due time, then id.
func testFIFO(t *testing.T, open Open) {
	s := open(t)
	dues := []time.Duration{-time.Minute, -3 * time.Minute, -2 * time.Minute, -5 * time.Minute, -5 * time.Minute}
	var recs []*outbox.Record
	for i, d := range dues {
		r := newRecord(i, at(-10*time.Minute))
		r.NextAttemptAt = at(d)
		recs = append(recs, r)
	}
	id := enqueue(t, s, recs...)
	want := []int64{id[3], id[4], id[1], id[2], id[0]}
	var got []int64
	for range want {
		got = append(got, ids(claim(t, s, at(0), 1))...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("claim order %v, want %v (by due time, then id)", got, want)
	}
}

// testNotDue: messages due later (send_at, a deferred retry) are left
// alone until their time.
func testNotDue(t *testing.T, open Open) {
	s := open(t)
	later := newRecord(1, at(0))
	later.SendAt, later.NextAttemptAt = at(time.Hour), at(time.Hour)
	now := newRecord(2, at(0))
	id := enqueue(t, s, later, now)
	got := claim(t, s, at(time.Minute), 10)
	if !slices.Equal(ids(got), []int64{id[1]}) {
		t.Fatalf("claim before send_at = %v, want only %d", ids(got), id[1])
	}
	if err := s.Complete(context.Background(), outbox.Outcome{ID: id[1], Lease: got[0].Lease, Now: at(time.Minute),
		Status: outbox.StatusSent}); err != nil {
		t.Fatal(err)
	}
	if got := ids(claim(t, s, at(time.Hour-time.Millisecond), 10)); len(got) != 0 {
		t.Errorf("claim just before send_at = %v, want none", got)
	}
	if got := ids(claim(t, s, at(time.Hour), 10)); !slices.Equal(got, []int64{id[0]}) {
		t.Errorf("claim at send_at = %v, want %d", got, id[0])
	}
}

// testSkipBackends: a claim skipping a backend leaves its due messages
// queued, however due, and claims the others ("" is a backend like any
// other); a later claim without the skip takes them.
func testSkipBackends(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	var recs []*outbox.Record
	for i, b := range []string{"a", "b", "", "a", "b", ""} {
		r := newRecord(i, at(time.Duration(i)*time.Second))
		r.Backend = b
		recs = append(recs, r)
	}
	id := enqueue(t, s, recs...)
	got, err := s.Claim(ctx, outbox.ClaimRequest{Now: at(time.Minute), Lease: lease, Limit: 10, SkipBackends: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{id[1], id[2], id[4], id[5]}; !slices.Equal(ids(got), want) {
		t.Fatalf("claim skipping a = %v, want %v (the b and \"\" messages)", ids(got), want)
	}
	for _, i := range []int{0, 3} {
		if r := get(t, s, id[i]); r.Status != outbox.StatusQueued || r.Attempts != 0 {
			t.Errorf("skipped message %d is %s with %d attempts, want queued with none", id[i], r.Status, r.Attempts)
		}
	}
	got, err = s.Claim(ctx, outbox.ClaimRequest{Now: at(time.Minute), Lease: lease, Limit: 10, SkipBackends: []string{"a", "b", ""}})
	if err != nil || len(got) != 0 {
		t.Fatalf("claim skipping every backend = %v, %v; want none", ids(got), err)
	}
	if got := ids(claim(t, s, at(time.Minute), 10)); !slices.Equal(got, []int64{id[0], id[3]}) {
		t.Errorf("claim without the skip = %v, want the a messages %v", got, []int64{id[0], id[3]})
	}
	wantCounts(t, s, map[outbox.Status]int64{outbox.StatusSending: 6})
}

// testEnqueueClaimed: a record enqueued sending is stored as if claimed
// at once: sending under a lease token of its own until LeaseUntil,
// invisible to claims until then, completed with that token, and claimed
// again when the lease runs out. An idempotent repeat gets no lease.
func testEnqueueClaimed(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	r := newRecord(1, at(0))
	r.IdempotencyKey = "k1"
	r.Status, r.LeaseUntil = outbox.StatusSending, at(lease)
	queued := newRecord(2, at(0))
	res, err := s.Enqueue(ctx, []*outbox.Record{r, queued})
	if err != nil || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("enqueue: %v %+v", err, res)
	}
	if res[0].Lease == 0 || res[1].Lease != 0 {
		t.Fatalf("leases %d (sending) and %d (queued); want one for the sending record only", res[0].Lease, res[1].Lease)
	}
	id := res[0].ID
	if got := get(t, s, id); got.Status != outbox.StatusSending {
		t.Fatalf("stored as %s, want sending", got.Status)
	}
	wantCounts(t, s, map[outbox.Status]int64{outbox.StatusSending: 1, outbox.StatusQueued: 1})
	if got := claim(t, s, at(time.Second), 10); len(got) != 1 || got[0].ID != res[1].ID {
		t.Fatalf("claim during the lease returned %v, want only the queued message %d", ids(got), res[1].ID)
	}
	again := newRecord(1, at(0))
	again.IdempotencyKey = "k1"
	again.Status, again.LeaseUntil = outbox.StatusSending, at(lease)
	rep, err := s.Enqueue(ctx, []*outbox.Record{again})
	if err != nil || !rep[0].Existing || rep[0].ID != id || rep[0].Lease != 0 {
		t.Fatalf("idempotent repeat: %v %+v; want existing %d without a lease", err, rep, id)
	}
	o := outbox.Outcome{ID: id, Lease: res[0].Lease, Now: at(2 * time.Second), Status: outbox.StatusSent,
		Recipients: []outbox.Recipient{{Addr: "user1@example.org", Status: outbox.RecipientSent}}}
	if err := s.Complete(ctx, o); err != nil {
		t.Fatalf("Complete with the enqueue's lease: %v", err)
	}
	if got := get(t, s, id); got.Status != outbox.StatusSent {
		t.Errorf("status after Complete = %s, want sent", got.Status)
	}

	// Unfinished, it comes back when its lease runs out.
	lost := newRecord(3, at(0))
	lost.Status, lost.LeaseUntil = outbox.StatusSending, at(lease)
	lid := enqueue(t, s, lost)[0]
	if got := claim(t, s, at(lease-time.Second), 10); len(got) != 0 {
		t.Fatalf("claim before the lease ran out returned %v", ids(got))
	}
	if got := ids(claim(t, s, at(lease+time.Second), 10)); !slices.Contains(got, lid) {
		t.Errorf("claim after the lease ran out returned %v, want %d among them", got, lid)
	}

	bad := newRecord(4, at(0))
	bad.Status = outbox.StatusSending
	if res, err := s.Enqueue(ctx, []*outbox.Record{bad}); err != nil || res[0].Err == nil {
		t.Errorf("a sending record without LeaseUntil: %v %+v, want an item error", err, res)
	}
}

// testEnqueueClaimedInTurn: a record enqueued sending does not pass
// waiting mail. With any message due by its own due time, even one of a
// lower priority, it is stored queued, without a lease, and a claim gives
// it its turn and its priority's share; mail not yet due does not hold it
// back.
func testEnqueueClaimedInTurn(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	sending := func(n int, created time.Time, p outbox.Priority) *outbox.Record {
		r := newRecord(n, created)
		r.Priority = p
		r.Status, r.LeaseUntil = outbox.StatusSending, created.Add(lease)
		return r
	}
	later := newRecord(1, at(0))
	later.SendAt, later.NextAttemptAt = at(time.Hour), at(time.Hour)
	low := newRecord(2, at(0))
	low.Priority = outbox.PriorityLow
	waiting := enqueue(t, s, later, low)[1]

	res, err := s.Enqueue(ctx, []*outbox.Record{
		sending(3, at(time.Second), outbox.PriorityHigh),
		sending(4, at(time.Second), outbox.PriorityNormal),
	})
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	for i, r := range res {
		if r.Err != nil || r.Lease != 0 {
			t.Fatalf("item %d (high, normal behind a due low message): %+v, want it stored without a lease", i, r)
		}
		if got := get(t, s, r.ID).Status; got != outbox.StatusQueued {
			t.Errorf("item %d stored %s, want queued", i, got)
		}
	}
	wantCounts(t, s, map[outbox.Status]int64{outbox.StatusQueued: 4})
	got := ids(claim(t, s, at(2*time.Second), 10))
	want := []int64{res[0].ID, res[1].ID, waiting}
	if !slices.Equal(got, want) {
		t.Fatalf("claim returned %v, want every due message by priority: %v", got, want)
	}

	// Nothing due now (the claimed ones are leased, the scheduled one is
	// not due yet): the next is stored claimed.
	next, err := s.Enqueue(ctx, []*outbox.Record{sending(5, at(3*time.Second), outbox.PriorityLow)})
	if err != nil || next[0].Err != nil || next[0].Lease == 0 {
		t.Fatalf("with nothing due: %v %+v, want it stored claimed", err, next)
	}
	if got := get(t, s, next[0].ID).Status; got != outbox.StatusSending {
		t.Errorf("stored %s with nothing due, want sending", got)
	}

	// In one call: a message due at once, given first, is waiting mail
	// for the one after it; one scheduled for later is not.
	scheduled := newRecord(6, at(4*time.Second))
	scheduled.SendAt, scheduled.NextAttemptAt = at(time.Hour), at(time.Hour)
	res, err = s.Enqueue(ctx, []*outbox.Record{scheduled, sending(7, at(4*time.Second), outbox.PriorityNormal)})
	if err != nil || res[1].Err != nil || res[1].Lease == 0 {
		t.Fatalf("behind a message scheduled for later, in the same call: %v %+v, want it stored claimed", err, res)
	}
	res, err = s.Enqueue(ctx, []*outbox.Record{newRecord(8, at(5*time.Second)), sending(9, at(5*time.Second), outbox.PriorityHigh)})
	if err != nil || res[1].Err != nil || res[1].Lease != 0 {
		t.Fatalf("behind a message due at once, in the same call: %v %+v, want it stored without a lease", err, res)
	}
	if got := get(t, s, res[1].ID).Status; got != outbox.StatusQueued {
		t.Errorf("stored %s behind a due message of the same call, want queued", got)
	}
}

// testEnqueueClaimedAfterChanges: whatever made mail due since the last
// record enqueued sending (a hand-off's or a claim's lease running out,
// an outcome or a retry that leaves a message due, pending legs, a
// message scheduled for later coming due), the next one finds it and is
// stored queued. Each case first enqueues one that is handed off, while
// nothing is due, so that a store remembering what it found is tested.
func testEnqueueClaimedAfterChanges(t *testing.T, open Open) {
	ctx := context.Background()
	// enqueueSending enqueues record n sending at now and reports whether
	// it was stored claimed.
	enqueueSending := func(t *testing.T, s outbox.Store, n int, now time.Time) bool {
		t.Helper()
		r := newRecord(n, now)
		r.Status, r.LeaseUntil = outbox.StatusSending, now.Add(lease)
		res, err := s.Enqueue(ctx, []*outbox.Record{r})
		if err != nil || res[0].Err != nil {
			t.Fatalf("enqueue %d: %v %+v", n, err, res)
		}
		return res[0].Lease != 0
	}
	// inTurn checks that record 100 is handed off at quiet, with nothing
	// due, and that record 101 is stored queued at due.
	inTurn := func(t *testing.T, s outbox.Store, quiet, due time.Time) {
		t.Helper()
		if !enqueueSending(t, s, 100, quiet) {
			t.Fatalf("enqueued at %s with nothing due: stored queued, want it claimed", quiet)
		}
		if enqueueSending(t, s, 101, due) {
			t.Fatalf("enqueued at %s with mail due: stored claimed, want it queued", due)
		}
	}
	complete := func(t *testing.T, s outbox.Store, r *outbox.Record, o outbox.Outcome) {
		t.Helper()
		o.ID, o.Lease = r.ID, r.Lease
		for _, rc := range r.Recipients {
			st := outbox.RecipientSent
			if o.Status.Pending() || o.Status == outbox.StatusFailed {
				st = outbox.RecipientPending
			}
			o.Recipients = append(o.Recipients, outbox.Recipient{Addr: rc.Addr, Status: st, UpdatedAt: o.Now})
		}
		if err := s.Complete(ctx, o); err != nil {
			t.Fatalf("Complete(%d, %s): %v", r.ID, o.Status, err)
		}
	}
	t.Run("HandOffLeaseRunsOut", func(t *testing.T) {
		s := open(t)
		if !enqueueSending(t, s, 1, at(0)) {
			t.Fatal("the first record was not handed off")
		}
		inTurn(t, s, at(time.Second), at(lease+time.Second))
	})
	t.Run("ClaimLeaseRunsOut", func(t *testing.T) {
		s := open(t)
		id := enqueue(t, s, newRecord(1, at(0)))[0]
		claimOnly(t, s, at(0), id)
		// The hand-off at 30 s holds its own message past 61 s: only the
		// claim's lease runs out by then.
		inTurn(t, s, at(30*time.Second), at(lease+time.Second))
	})
	// An outcome leaves the claimed message due at 10 s.
	for name, o := range map[string]outbox.Outcome{
		"Deferred":    {Status: outbox.StatusDeferred, NextAttemptAt: at(10 * time.Second)},
		"PendingLegs": {Status: outbox.StatusSent, LegsDueAt: at(10 * time.Second)},
	} {
		t.Run(name, func(t *testing.T) {
			s := open(t)
			id := enqueue(t, s, newRecord(1, at(0)))[0]
			r := claimOnly(t, s, at(0), id)
			if !enqueueSending(t, s, 2, at(time.Second)) {
				t.Fatal("handed off nothing while the claimed message was held")
			}
			o.Now, o.Attempts, o.LastError = at(2*time.Second), 1, "451 later"
			complete(t, s, r, o)
			inTurn(t, s, at(5*time.Second), at(11*time.Second))
		})
	}
	t.Run("Retry", func(t *testing.T) {
		s := open(t)
		id := enqueue(t, s, newRecord(1, at(0)))[0]
		r := claimOnly(t, s, at(0), id)
		complete(t, s, r, outbox.Outcome{Now: at(time.Second), Status: outbox.StatusFailed,
			Attempts: 1, LastError: "550 no"})
		if !enqueueSending(t, s, 2, at(2*time.Second)) {
			t.Fatal("handed off nothing with only a failed message stored")
		}
		if _, err := s.Retry(ctx, id, at(3*time.Second)); err != nil {
			t.Fatalf("Retry: %v", err)
		}
		if enqueueSending(t, s, 3, at(4*time.Second)) {
			t.Fatal("enqueued after a retry made a message due: stored claimed, want it queued")
		}
	})
	// A message scheduled for 10 s, enqueued after a hand-off looked,
	// before any did, or in the same call as one.
	later := func(n int) *outbox.Record {
		r := newRecord(n, at(0))
		r.SendAt, r.NextAttemptAt = at(10*time.Second), at(10*time.Second)
		return r
	}
	t.Run("Scheduled", func(t *testing.T) {
		s := open(t)
		if !enqueueSending(t, s, 1, at(0)) {
			t.Fatal("the first record was not handed off")
		}
		enqueue(t, s, later(2))
		inTurn(t, s, at(time.Second), at(11*time.Second))
	})
	t.Run("ScheduledBeforeTheLook", func(t *testing.T) {
		s := open(t)
		enqueue(t, s, later(1))
		inTurn(t, s, at(time.Second), at(11*time.Second))
	})
	t.Run("ScheduledInTheSameCall", func(t *testing.T) {
		s := open(t)
		now := newRecord(2, at(0))
		now.Status, now.LeaseUntil = outbox.StatusSending, at(lease)
		res, err := s.Enqueue(ctx, []*outbox.Record{later(1), now})
		if err != nil || res[1].Err != nil || res[1].Lease == 0 {
			t.Fatalf("behind a message scheduled for later, in the same call: %v %+v, want it stored claimed", err, res)
		}
		if enqueueSending(t, s, 3, at(11*time.Second)) {
			t.Fatal("enqueued once the scheduled message was due: stored claimed, want it queued")
		}
	})
}
