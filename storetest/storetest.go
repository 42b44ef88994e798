package storetest

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// Open returns a new, empty store for one test and arranges for it to be
// closed when the test ends (t.Cleanup).
type Open func(t *testing.T) outbox.Store

// Run runs the conformance suite against the stores open returns, one
// fresh store per subtest.
func Run(t *testing.T, open Open) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Open)
	}{
		{"EnqueueGetRoundTrip", testRoundTrip},
		{"GetNotFound", testGetNotFound},
		{"Idempotency", testIdempotency},
		{"IdempotencyConcurrent", testIdempotencyConcurrent},
		{"InvalidItemFailsAlone", testInvalidItem},
		{"ConcurrentEnqueue", testConcurrentEnqueue},
		{"ConcurrentClaimersNeverShare", testConcurrentClaim},
		{"ExpiredLeaseReturnsMessage", testLeaseExpiry},
		{"EnqueueClaimed", testEnqueueClaimed},
		{"EnqueueClaimedInTurn", testEnqueueClaimedInTurn},
		{"EnqueueClaimedAfterChanges", testEnqueueClaimedAfterChanges},
		{"PriorityShares", testPriorityShares},
		{"FIFOWithinPriority", testFIFO},
		{"NotDueNotClaimed", testNotDue},
		{"SkipBackends", testSkipBackends},
		{"CompletePerRecipient", testComplete},
		{"CompleteNewLeg", testCompleteNewLeg},
		{"CompleteLeaseLost", testCompleteLeaseLost},
		{"PendingLegClaimedAgain", testPendingLeg},
		{"PendingLegLeaseExpiry", testPendingLegLeaseExpiry},
		{"RetryDuringLegsClaim", testRetryDuringLegsClaim},
		{"Retry", testRetry},
		{"RetryErrors", testRetryErrors},
		{"Cancel", testCancel},
		{"ListPages", testListPages},
		{"ListDuringInserts", testListDuringInserts},
		{"ListWhileClaimed", testListWhileClaimed},
		{"CountersMatchFullCount", testCounters},
		{"Purge", testPurge},
		{"NextDue", testNextDue},
		{"OldestPending", testOldestPending},
		{"Ping", testPing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// at returns the suite's clock origin plus d. The origin has whole
// microseconds and is UTC.
func at(d time.Duration) time.Time {
	return time.Date(2030, time.March, 4, 5, 6, 7, 891011000, time.UTC).Add(d)
}

// lease is the lease length used unless a test needs another.
const lease = time.Minute

// rawFor returns distinct message bytes for n, with CRLF and a non-UTF-8
// byte so that byte-exact storage shows.
func rawFor(n int) []byte {
	return fmt.Appendf(nil, "From: app@example.com\r\nTo: user%d@example.org\r\nMessage-ID: <%d@example.com>\r\nSubject: test %d\r\n\r\nbody \xff\x00 %d\r\n", n, n, n, n)
}

// newRecord returns a valid queued record, due at created, with the given
// recipients (one when none are given).
func newRecord(n int, created time.Time, rcpts ...string) *outbox.Record {
	if len(rcpts) == 0 {
		rcpts = []string{fmt.Sprintf("user%d@example.org", n)}
	}
	rs := make([]outbox.Recipient, len(rcpts))
	for i, a := range rcpts {
		rs[i] = outbox.Recipient{Addr: a, Status: outbox.RecipientPending}
	}
	raw := rawFor(n)
	return &outbox.Record{
		MessageID:     fmt.Sprintf("<%d@example.com>", n),
		Status:        outbox.StatusQueued,
		From:          "app@example.com",
		Subject:       fmt.Sprintf("test %d", n),
		Recipients:    rs,
		Size:          len(raw),
		CreatedAt:     created,
		UpdatedAt:     created,
		LifetimeStart: created,
		NextAttemptAt: created,
		Raw:           raw,
	}
}

// enqueue stores recs, which must all be valid and new, and returns their ids.
func enqueue(t *testing.T, s outbox.Store, recs ...*outbox.Record) []int64 {
	t.Helper()
	res, err := s.Enqueue(context.Background(), recs)
	if err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if len(res) != len(recs) {
		t.Fatalf("Enqueue returned %d results for %d records", len(res), len(recs))
	}
	ids := make([]int64, len(res))
	for i, r := range res {
		if r.Err != nil || r.Existing || r.ID == 0 {
			t.Fatalf("Enqueue item %d: %+v", i, r)
		}
		ids[i] = r.ID
	}
	return ids
}

// get reads a message that must exist.
func get(t *testing.T, s outbox.Store, id int64) *outbox.Record {
	t.Helper()
	r, err := s.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get(%d): %v", id, err)
	}
	return r
}

// claim claims at now with the suite's lease. Claimed messages are
// sending, or keep their final status when claimed for pending legs.
func claim(t *testing.T, s outbox.Store, now time.Time, limit int) []*outbox.Record {
	t.Helper()
	recs, err := s.Claim(context.Background(), outbox.ClaimRequest{Now: now, Lease: lease, Limit: limit})
	if err != nil {
		t.Fatalf("Claim at %s: %v", now, err)
	}
	for _, r := range recs {
		if r.Status != outbox.StatusSending && (r.Status.Pending() || !hasPendingLeg(r)) {
			t.Fatalf("claimed message %d has status %s, want sending (or a final status with a pending leg)", r.ID, r.Status)
		}
	}
	return recs
}

// hasPendingLeg reports whether r has a pending recipient on a leg.
func hasPendingLeg(r *outbox.Record) bool {
	for _, rc := range r.Recipients {
		if rc.Leg != "" && rc.Status == outbox.RecipientPending {
			return true
		}
	}
	return false
}

// claimOnly claims at now and expects exactly message id.
func claimOnly(t *testing.T, s outbox.Store, now time.Time, id int64) *outbox.Record {
	t.Helper()
	recs := claim(t, s, now, 100)
	if len(recs) != 1 || recs[0].ID != id {
		t.Fatalf("claim at %s returned %v, want only message %d", now, ids(recs), id)
	}
	return recs[0]
}

// settle claims r (which must be the only due message) at now and
// completes it with status, every recipient getting the matching state.
// Deferred messages are next due a day later.
func settle(t *testing.T, s outbox.Store, id int64, status outbox.Status, now time.Time) {
	t.Helper()
	r := claimOnly(t, s, now, id)
	o := outbox.Outcome{ID: id, Lease: r.Lease, Now: now, Status: status, Attempts: r.Attempts + 1}
	rs := map[outbox.Status]outbox.RecipientStatus{
		outbox.StatusSent: outbox.RecipientSent, outbox.StatusFailed: outbox.RecipientFailed,
		outbox.StatusExpired: outbox.RecipientExpired, outbox.StatusDeferred: outbox.RecipientPending,
	}[status]
	for _, rc := range r.Recipients {
		o.Recipients = append(o.Recipients, outbox.Recipient{Addr: rc.Addr, Status: rs, UpdatedAt: now})
	}
	if status == outbox.StatusDeferred {
		o.NextAttemptAt = now.Add(24 * time.Hour)
	}
	if status != outbox.StatusSent {
		o.LastError = "451 try later"
	}
	if err := s.Complete(context.Background(), o); err != nil {
		t.Fatalf("Complete(%d, %s): %v", id, status, err)
	}
}

// ids lists the ids of recs.
func ids(recs []*outbox.Record) []int64 {
	out := make([]int64, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}

// stats reads the store's stats.
func stats(t *testing.T, s outbox.Store) outbox.Stats {
	t.Helper()
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	return st
}

// wantCounts checks the status counters; statuses not in want must be 0.
func wantCounts(t *testing.T, s outbox.Store, want map[outbox.Status]int64) {
	t.Helper()
	got := stats(t, s).Counts
	for _, st := range outbox.Statuses {
		n, ok := got[st]
		if !ok {
			t.Errorf("Stats.Counts has no entry for %s", st)
		}
		if n != want[st] {
			t.Errorf("Stats.Counts[%s] = %d, want %d", st, n, want[st])
		}
	}
}

// listAll pages through every message with status (all when empty).
func listAll(t *testing.T, s outbox.Store, status outbox.Status, pageSize int) []*outbox.Record {
	t.Helper()
	var out []*outbox.Record
	q := outbox.ListQuery{Status: status, Limit: pageSize}
	for range 100000 {
		p, err := s.List(context.Background(), q)
		if err != nil {
			t.Fatalf("List(%+v): %v", q, err)
		}
		out = append(out, p.Records...)
		if p.Next == 0 {
			return out
		}
		q.Before = p.Next
	}
	t.Fatal("List never ended")
	return nil
}

// sameTime compares times by instant.
func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s = %s, want %s", what, got, want)
	}
}

// sameRaw compares message bytes.
func sameRaw(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s: Raw = %q, want %q", what, got, want)
	}
}
