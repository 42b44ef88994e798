package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// sentWithPendingLeg enqueues a message to to@example.org, claims it at
// at(0) and completes it as a fanout whose primary (leg "0") accepted
// while its secondary (leg "1") failed for now: sent, with leg "1" due at
// legsDue. It returns the message's id.
func sentWithPendingLeg(t *testing.T, s outbox.Store, n int, legsDue time.Time) int64 {
	t.Helper()
	id := enqueue(t, s, newRecord(n, at(0), "to@example.org"))[0]
	r := claimOnly(t, s, at(0), id)
	ok := outbox.Reply{Code: 250, Text: "ok"}
	down := outbox.Reply{Text: "connection refused"}
	o := outbox.Outcome{ID: id, Lease: r.Lease, Now: at(time.Second), Status: outbox.StatusSent,
		LegsDueAt: legsDue, Attempts: 1, LastError: "leg 1: connection refused",
		Recipients: []outbox.Recipient{
			{Addr: "to@example.org", Status: outbox.RecipientSent, Reply: ok},
			{Addr: "to@example.org", Leg: "0", Status: outbox.RecipientSent, Reply: ok},
			{Addr: "to@example.org", Leg: "1", Status: outbox.RecipientPending, Reply: down},
		},
		Attempt: &outbox.Attempt{At: at(0), Backend: "default", Class: outbox.ClassTemporary,
			Recipients: []outbox.RecipientResult{
				{Addr: "to@example.org", Class: outbox.ClassAccepted, Reply: ok},
				{Addr: "to@example.org", Leg: "0", Class: outbox.ClassAccepted, Reply: ok},
				{Addr: "to@example.org", Leg: "1", Class: outbox.ClassTemporary, Reply: down},
			}}}
	if err := s.Complete(context.Background(), o); err != nil {
		t.Fatalf("Complete (sent, leg 1 pending): %v", err)
	}
	return id
}

// pendingRows lists the (leg, address) of r's pending recipients.
func pendingRows(r *outbox.Record) [][2]string {
	var out [][2]string
	for _, rc := range r.Recipients {
		if rc.Status == outbox.RecipientPending {
			out = append(out, [2]string{rc.Leg, rc.Addr})
		}
	}
	return out
}

// testPendingLeg: a sent message with a pending leg stays sent, is claimed
// again when the leg is due (and not before) without becoming sending,
// has that leg as its only pending row, and completing the leg leaves it
// sent; the counters stay exact throughout, and it is purged only once no
// leg is pending.
func testPendingLeg(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	legsDue := at(10 * time.Minute)
	id := sentWithPendingLeg(t, s, 1, legsDue)
	sent := map[outbox.Status]int64{outbox.StatusSent: 1}

	got := get(t, s, id)
	if got.Status != outbox.StatusSent || got.Attempts != 1 {
		t.Fatalf("after Complete: %s with %d attempts, want sent with 1", got.Status, got.Attempts)
	}
	wantCounts(t, s, sent)
	if due, ok, err := s.NextDue(ctx); err != nil || !ok || !due.Equal(legsDue) {
		t.Errorf("NextDue = %s, %v, %v; want the leg due at %s", due, ok, err, legsDue)
	}
	if recs := claim(t, s, legsDue.Add(-time.Millisecond), 10); len(recs) != 0 {
		t.Fatalf("claim before the leg is due returned %v", ids(recs))
	}
	if n, err := s.Purge(ctx, at(24*time.Hour), 10); err != nil || n != 0 {
		t.Fatalf("Purge of a sent message with a pending leg = %d, %v; want 0", n, err)
	}
	_, err := s.Cancel(ctx, id, legsDue)
	wantStateError(t, err, "cancel", outbox.StatusSent)
	_, err = s.Retry(ctx, id, legsDue)
	wantStateError(t, err, "retry", outbox.StatusSent)

	r := claimOnly(t, s, legsDue, id)
	if r.Status != outbox.StatusSent {
		t.Fatalf("claimed for its leg: status %s, want sent", r.Status)
	}
	if p := pendingRows(r); len(p) != 1 || p[0] != [2]string{"1", "to@example.org"} {
		t.Fatalf("pending rows of the claimed message = %v, want only leg 1", p)
	}
	sameRaw(t, "claimed for its leg", r.Raw, rawFor(1))
	wantCounts(t, s, sent)
	if recs := claim(t, s, legsDue, 10); len(recs) != 0 {
		t.Fatalf("a message claimed for its leg was claimed again during its lease: %v", ids(recs))
	}

	// Its status cannot regress, and only the current lease completes it.
	regress := outbox.Outcome{ID: id, Lease: r.Lease, Now: legsDue, Status: outbox.StatusDeferred,
		NextAttemptAt: legsDue.Add(time.Minute), Attempts: 2}
	if err := s.Complete(ctx, regress); err == nil || errors.Is(err, outbox.ErrLeaseLost) {
		t.Errorf("Complete turning a sent message deferred = %v, want an error", err)
	}
	stale := outbox.Outcome{ID: id, Lease: r.Lease + 1000, Now: legsDue, Status: outbox.StatusSent}
	if err := s.Complete(ctx, stale); !errors.Is(err, outbox.ErrLeaseLost) {
		t.Errorf("Complete with another lease = %v, want ErrLeaseLost", err)
	}

	// The leg fails again: still sent, due later.
	down := outbox.Reply{Code: 421, Text: "try later"}
	again := at(30 * time.Minute)
	o := outbox.Outcome{ID: id, Lease: r.Lease, Now: legsDue.Add(time.Second), Status: outbox.StatusSent,
		LegsDueAt: again, Attempts: 2, LastError: "leg 1: 421 try later",
		Recipients: []outbox.Recipient{{Addr: "to@example.org", Leg: "1", Status: outbox.RecipientPending, Reply: down}}}
	if err := s.Complete(ctx, o); err != nil {
		t.Fatalf("Complete (leg still pending): %v", err)
	}
	if err := s.Complete(ctx, o); !errors.Is(err, outbox.ErrLeaseLost) {
		t.Errorf("second Complete with the same lease = %v, want ErrLeaseLost", err)
	}
	got = get(t, s, id)
	if got.Status != outbox.StatusSent || got.Attempts != 2 || len(got.AttemptLog) != 1 {
		t.Errorf("after the leg failed again: %s, %d attempts, %d logged; want sent, 2, 1", got.Status, got.Attempts, len(got.AttemptLog))
	}
	wantRecipient(t, got.Recipients, "1", "to@example.org", outbox.RecipientPending, down)
	wantCounts(t, s, sent)

	// The leg is delivered: sent, nothing left to claim, purgeable.
	r = claimOnly(t, s, again, id)
	ok := outbox.Reply{Code: 250, Text: "ok"}
	o = outbox.Outcome{ID: id, Lease: r.Lease, Now: again.Add(time.Second), Status: outbox.StatusSent, Attempts: 3,
		Recipients: []outbox.Recipient{{Addr: "to@example.org", Leg: "1", Status: outbox.RecipientSent, Reply: ok}},
		Attempt: &outbox.Attempt{At: again, Backend: "default", Class: outbox.ClassAccepted,
			Recipients: []outbox.RecipientResult{{Addr: "to@example.org", Leg: "1", Class: outbox.ClassAccepted, Reply: ok}}}}
	if err := s.Complete(ctx, o); err != nil {
		t.Fatalf("Complete (leg delivered): %v", err)
	}
	got = get(t, s, id)
	if got.Status != outbox.StatusSent || len(pendingRows(got)) != 0 || len(got.AttemptLog) != 2 {
		t.Errorf("after the leg was delivered: %s, pending %v, %d logged; want sent, none, 2", got.Status, pendingRows(got), len(got.AttemptLog))
	}
	wantRecipient(t, got.Recipients, "", "to@example.org", outbox.RecipientSent, outbox.Reply{Code: 250, Text: "ok"})
	wantRecipient(t, got.Recipients, "0", "to@example.org", outbox.RecipientSent, ok)
	wantRecipient(t, got.Recipients, "1", "to@example.org", outbox.RecipientSent, ok)
	wantCounts(t, s, sent)
	if recs := claim(t, s, at(48*time.Hour), 10); len(recs) != 0 {
		t.Errorf("a sent message with no pending leg was claimed: %v", ids(recs))
	}
	if _, ok, err := s.NextDue(ctx); err != nil || ok {
		t.Errorf("NextDue with no pending leg: ok=%v err=%v", ok, err)
	}
	if n, err := s.Purge(ctx, at(48*time.Hour), 10); err != nil || n != 1 {
		t.Errorf("Purge once the leg is delivered = %d, %v; want 1", n, err)
	}
	wantCounts(t, s, nil)
}

// testPendingLegLeaseExpiry: a message claimed for its leg whose claimer
// died comes back when the lease expires, still in its final status; the
// old lease can no longer complete it.
func testPendingLegLeaseExpiry(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	id := sentWithPendingLeg(t, s, 1, at(time.Minute))
	first := claimOnly(t, s, at(time.Minute), id)
	if due, ok, err := s.NextDue(ctx); err != nil || !ok || !due.Equal(at(time.Minute+lease)) {
		t.Errorf("NextDue during the leg's claim = %s, %v, %v; want the lease expiry", due, ok, err)
	}
	second := claimOnly(t, s, at(time.Minute+lease), id)
	if second.Lease == first.Lease || second.Status != outbox.StatusSent {
		t.Fatalf("claim after the lease expired: lease %d (first %d), status %s", second.Lease, first.Lease, second.Status)
	}
	done := outbox.Outcome{ID: id, Now: at(3 * time.Minute), Status: outbox.StatusSent, Attempts: 2,
		Recipients: []outbox.Recipient{{Addr: "to@example.org", Leg: "1", Status: outbox.RecipientSent}}}
	done.Lease = first.Lease
	if err := s.Complete(ctx, done); !errors.Is(err, outbox.ErrLeaseLost) {
		t.Fatalf("Complete with the expired lease = %v, want ErrLeaseLost", err)
	}
	done.Lease = second.Lease
	if err := s.Complete(ctx, done); err != nil {
		t.Fatalf("Complete with the current lease: %v", err)
	}
	if got := get(t, s, id); got.Status != outbox.StatusSent || len(pendingRows(got)) != 0 {
		t.Errorf("got %s with pending %v, want sent with none", got.Status, pendingRows(got))
	}
	wantCounts(t, s, map[outbox.Status]int64{outbox.StatusSent: 1})
}

// testRetryDuringLegsClaim: a failed message whose primary refused it
// while a secondary leg is pending can be retried, but not while a claim
// holds it for that leg: the retry would make it claimable at once, a
// second claimer would send the leg again, and the first claim's outcome
// (the leg accepted) would be dropped as a lost lease.
func testRetryDuringLegsClaim(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	id := enqueue(t, s, newRecord(1, at(0), "to@example.org"))[0]
	r := claimOnly(t, s, at(0), id)
	refused := outbox.Reply{Code: 550, Text: "no such user"}
	down := outbox.Reply{Text: "connection refused"}
	legsDue := at(10 * time.Minute)
	o := outbox.Outcome{ID: id, Lease: r.Lease, Now: at(time.Second), Status: outbox.StatusFailed,
		LegsDueAt: legsDue, Attempts: 1, LastError: "550 no such user",
		Recipients: []outbox.Recipient{
			{Addr: "to@example.org", Status: outbox.RecipientFailed, Reply: refused},
			{Addr: "to@example.org", Leg: "0", Status: outbox.RecipientFailed, Reply: refused},
			{Addr: "to@example.org", Leg: "1", Status: outbox.RecipientPending, Reply: down},
		}}
	if err := s.Complete(ctx, o); err != nil {
		t.Fatalf("Complete (failed, leg 1 pending): %v", err)
	}
	legs := claimOnly(t, s, legsDue, id)
	if legs.Status != outbox.StatusFailed {
		t.Fatalf("claimed for its legs: status %s, want failed", legs.Status)
	}
	_, err := s.Retry(ctx, id, legsDue.Add(time.Second))
	wantStateError(t, err, "retry", outbox.StatusSending)
	if recs := claim(t, s, legsDue.Add(2*time.Second), 10); len(recs) != 0 {
		t.Fatalf("a second claim during the legs claim returned %v", ids(recs))
	}
	done := outbox.Outcome{ID: id, Lease: legs.Lease, Now: legsDue.Add(3 * time.Second), Status: outbox.StatusFailed,
		Attempts: 2, Recipients: []outbox.Recipient{
			{Addr: "to@example.org", Leg: "1", Status: outbox.RecipientSent, Reply: outbox.Reply{Code: 250, Text: "ok"}},
		}}
	if err := s.Complete(ctx, done); err != nil {
		t.Fatalf("Complete of the legs claim: %v", err)
	}
	// Once the legs claim is over, the operator may retry the refused
	// recipient; the leg that accepted stays sent.
	got, err := s.Retry(ctx, id, legsDue.Add(4*time.Second))
	if err != nil {
		t.Fatalf("Retry after the legs claim: %v", err)
	}
	if got.Status != outbox.StatusQueued {
		t.Errorf("after Retry: %s, want queued", got.Status)
	}
	wantRecipient(t, got.Recipients, "1", "to@example.org", outbox.RecipientSent, outbox.Reply{Code: 250, Text: "ok"})
	wantCounts(t, s, map[outbox.Status]int64{outbox.StatusQueued: 1})
}
