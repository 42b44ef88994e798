package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// wantStateError checks that err is a *StateError for op in status.
func wantStateError(t *testing.T, err error, op string, status outbox.Status) {
	t.Helper()
	var se *outbox.StateError
	if !errors.As(err, &se) || se.Op != op || se.Status != status {
		t.Errorf("error = %v, want StateError{%s, %s}", err, op, status)
	}
}

// testRetry: failed, expired and deferred messages go back to the queue,
// due at once, with attempts and lifetime reset; sent recipients stay sent.
func testRetry(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	id := enqueue(t, s, newRecord(1, at(0), "ok@example.org", "bad@example.org"))[0]
	r := claimOnly(t, s, at(0), id)
	accepted := outbox.Reply{Code: 250, Text: "ok"}
	refused := outbox.Reply{Code: 550, Enhanced: "5.1.1", Text: "no such user"}
	o := outbox.Outcome{ID: id, Lease: r.Lease, Now: at(time.Second), Status: outbox.StatusSent, Attempts: 1,
		LastError: refused.String(),
		Recipients: []outbox.Recipient{
			{Addr: "ok@example.org", Status: outbox.RecipientSent, Reply: accepted},
			{Addr: "bad@example.org", Status: outbox.RecipientFailed, Reply: refused},
		}}
	if err := s.Complete(ctx, o); err != nil {
		t.Fatal(err)
	}
	_, err := s.Retry(ctx, id, at(time.Hour))
	wantStateError(t, err, "retry", outbox.StatusSent)

	// A failed message with one recipient sent: only the other goes again.
	id2 := enqueue(t, s, newRecord(2, at(time.Hour), "ok@example.org", "bad@example.org"))[0]
	r = claimOnly(t, s, at(time.Hour), id2)
	o.ID, o.Lease, o.Now, o.Status = id2, r.Lease, at(time.Hour+time.Second), outbox.StatusFailed
	if err := s.Complete(ctx, o); err != nil {
		t.Fatal(err)
	}
	now := at(2 * time.Hour)
	got, err := s.Retry(ctx, id2, now)
	if err != nil {
		t.Fatalf("Retry(failed): %v", err)
	}
	if got.ID != id2 || got.Status != outbox.StatusQueued || got.Attempts != 0 {
		t.Errorf("Retry returned %d %s %d attempts, want %d queued 0", got.ID, got.Status, got.Attempts, id2)
	}
	sameTime(t, "LifetimeStart after retry", got.LifetimeStart, now)
	sameTime(t, "NextAttemptAt after retry", got.NextAttemptAt, now)
	wantRecipient(t, got.Recipients, "", "ok@example.org", outbox.RecipientSent, accepted)
	if rc := recipientsByKey(got.Recipients)[[2]string{"", "bad@example.org"}]; rc.Status != outbox.RecipientPending {
		t.Errorf("failed recipient after retry = %+v, want pending", rc)
	}
	if stored := get(t, s, id2); stored.Status != outbox.StatusQueued || stored.Attempts != 0 {
		t.Errorf("stored after retry: %s with %d attempts, want queued with 0", stored.Status, stored.Attempts)
	}
	wantCounts(t, s, map[outbox.Status]int64{outbox.StatusSent: 1, outbox.StatusQueued: 1})
	c := claimOnly(t, s, now, id2)
	wantRecipient(t, c.Recipients, "", "ok@example.org", outbox.RecipientSent, accepted)

	if err := s.Complete(ctx, outbox.Outcome{ID: id2, Lease: c.Lease, Now: now, Status: outbox.StatusSent,
		Recipients: []outbox.Recipient{{Addr: "bad@example.org", Status: outbox.RecipientSent}}}); err != nil {
		t.Fatal(err)
	}

	// Deferred and expired messages can be retried too.
	for i, st := range []outbox.Status{outbox.StatusDeferred, outbox.StatusExpired} {
		id := enqueue(t, s, newRecord(10+i, at(3*time.Hour)))[0]
		settle(t, s, id, st, at(3*time.Hour))
		got, err := s.Retry(ctx, id, at(4*time.Hour))
		if err != nil {
			t.Errorf("Retry(%s): %v", st, err)
			continue
		}
		if got.Status != outbox.StatusQueued || got.Recipients[0].Status != outbox.RecipientPending {
			t.Errorf("Retry(%s) = %s %+v, want queued with a pending recipient", st, got.Status, got.Recipients)
		}
		settle(t, s, id, outbox.StatusSent, at(4*time.Hour))
	}
	wantCounts(t, s, map[outbox.Status]int64{outbox.StatusSent: 4})
}

// testRetryErrors: unknown ids, wrong statuses and a passed expiry are
// refused and change nothing.
func testRetryErrors(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	if _, err := s.Retry(ctx, 999, at(0)); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("Retry(unknown) = %v, want ErrNotFound", err)
	}

	exp := newRecord(1, at(0))
	exp.ExpiresAt = at(2 * time.Hour)
	expired := enqueue(t, s, exp)[0]
	settle(t, s, expired, outbox.StatusExpired, at(2*time.Hour))
	if _, err := s.Retry(ctx, expired, at(3*time.Hour)); !errors.Is(err, outbox.ErrPastExpiry) {
		t.Errorf("Retry past expires_at = %v, want ErrPastExpiry", err)
	}
	if got := get(t, s, expired); got.Status != outbox.StatusExpired {
		t.Errorf("status after a refused retry = %s, want expired", got.Status)
	}

	queued := enqueue(t, s, newRecord(2, at(3*time.Hour)))[0]
	_, err := s.Retry(ctx, queued, at(3*time.Hour))
	wantStateError(t, err, "retry", outbox.StatusQueued)
	if _, err := s.Cancel(ctx, queued, at(3*time.Hour)); err != nil {
		t.Fatal(err)
	}
	_, err = s.Retry(ctx, queued, at(3*time.Hour))
	wantStateError(t, err, "retry", outbox.StatusCancelled)

	sending := enqueue(t, s, newRecord(3, at(3*time.Hour)))[0]
	claimOnly(t, s, at(3*time.Hour), sending)
	_, err = s.Retry(ctx, sending, at(3*time.Hour))
	wantStateError(t, err, "retry", outbox.StatusSending)
	wantCounts(t, s, map[outbox.Status]int64{
		outbox.StatusExpired: 1, outbox.StatusCancelled: 1, outbox.StatusSending: 1,
	})
}

// testCancel: queued and deferred messages can be cancelled, with their
// pending recipients; other statuses cannot.
func testCancel(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	if _, err := s.Cancel(ctx, 999, at(0)); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("Cancel(unknown) = %v, want ErrNotFound", err)
	}

	deferred := enqueue(t, s, newRecord(1, at(0), "a@example.org", "b@example.org"))[0]
	r := claimOnly(t, s, at(0), deferred)
	accepted := outbox.Reply{Code: 250, Text: "ok"}
	if err := s.Complete(ctx, outbox.Outcome{ID: deferred, Lease: r.Lease, Now: at(time.Second),
		Status: outbox.StatusDeferred, NextAttemptAt: at(time.Hour), Attempts: 1,
		Recipients: []outbox.Recipient{{Addr: "a@example.org", Status: outbox.RecipientSent, Reply: accepted}}}); err != nil {
		t.Fatal(err)
	}
	queued := enqueue(t, s, newRecord(2, at(time.Minute)))[0]

	now := at(2 * time.Minute)
	got, err := s.Cancel(ctx, queued, now)
	if err != nil {
		t.Fatalf("Cancel(queued): %v", err)
	}
	if got.Status != outbox.StatusCancelled || got.Recipients[0].Status != outbox.RecipientCancelled {
		t.Errorf("Cancel(queued) = %s %+v, want cancelled", got.Status, got.Recipients)
	}
	sameTime(t, "UpdatedAt after cancel", got.UpdatedAt, now)
	got, err = s.Cancel(ctx, deferred, now)
	if err != nil {
		t.Fatalf("Cancel(deferred): %v", err)
	}
	if got.Status != outbox.StatusCancelled {
		t.Errorf("Cancel(deferred) status = %s", got.Status)
	}
	wantRecipient(t, got.Recipients, "", "a@example.org", outbox.RecipientSent, accepted)
	if rc := recipientsByKey(got.Recipients)[[2]string{"", "b@example.org"}]; rc.Status != outbox.RecipientCancelled {
		t.Errorf("pending recipient after cancel = %+v, want cancelled", rc)
	}
	_, err = s.Cancel(ctx, queued, now)
	wantStateError(t, err, "cancel", outbox.StatusCancelled)
	if recs := claim(t, s, at(48*time.Hour), 10); len(recs) != 0 {
		t.Errorf("cancelled messages were claimed: %v", ids(recs))
	}
	if _, ok, err := s.NextDue(ctx); err != nil || ok {
		t.Errorf("NextDue with only cancelled messages: ok=%v err=%v", ok, err)
	}

	sending := enqueue(t, s, newRecord(3, at(3*time.Minute)))[0]
	claimOnly(t, s, at(3*time.Minute), sending)
	_, err = s.Cancel(ctx, sending, now)
	wantStateError(t, err, "cancel", outbox.StatusSending)
	sent := enqueue(t, s, newRecord(4, at(3*time.Minute)))[0]
	settle(t, s, sent, outbox.StatusSent, at(3*time.Minute+time.Second))
	_, err = s.Cancel(ctx, sent, now)
	wantStateError(t, err, "cancel", outbox.StatusSent)
	wantCounts(t, s, map[outbox.Status]int64{outbox.StatusCancelled: 2, outbox.StatusSending: 1, outbox.StatusSent: 1})
}

// testPurge: only final messages last updated before the cutoff are
// deleted, up to the limit, and the counters follow.
func testPurge(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	old := at(0)
	var purgeable []int64
	for i, st := range []outbox.Status{outbox.StatusSent, outbox.StatusFailed, outbox.StatusExpired} {
		id := enqueue(t, s, newRecord(i, old))[0]
		settle(t, s, id, st, old)
		purgeable = append(purgeable, id)
	}
	cancelled := enqueue(t, s, newRecord(3, old))[0]
	if _, err := s.Cancel(ctx, cancelled, old); err != nil {
		t.Fatal(err)
	}
	purgeable = append(purgeable, cancelled)
	deferred := enqueue(t, s, newRecord(4, old))[0]
	settle(t, s, deferred, outbox.StatusDeferred, old)
	recent := enqueue(t, s, newRecord(5, at(2*time.Hour)))[0]
	settle(t, s, recent, outbox.StatusSent, at(2*time.Hour))
	later := newRecord(6, old)
	later.SendAt, later.NextAttemptAt = at(100*time.Hour), at(100*time.Hour)
	queued := enqueue(t, s, later)[0]
	sending := enqueue(t, s, newRecord(7, old))[0]
	claimOnly(t, s, at(2*time.Hour), sending)

	cutoff := at(time.Hour)
	n, err := s.Purge(ctx, cutoff, 3)
	if err != nil || n != 3 {
		t.Fatalf("Purge(limit 3) = %d, %v; want 3", n, err)
	}
	n, err = s.Purge(ctx, cutoff, 100)
	if err != nil || n != 1 {
		t.Fatalf("second Purge = %d, %v; want the 1 left", n, err)
	}
	if n, err := s.Purge(ctx, cutoff, 100); err != nil || n != 0 {
		t.Fatalf("third Purge = %d, %v; want 0", n, err)
	}
	for _, id := range purgeable {
		if _, err := s.Get(ctx, id); !errors.Is(err, outbox.ErrNotFound) {
			t.Errorf("purged message %d: Get = %v, want ErrNotFound", id, err)
		}
	}
	for _, id := range []int64{deferred, recent, queued, sending} {
		get(t, s, id)
	}
	wantCounts(t, s, map[outbox.Status]int64{
		outbox.StatusDeferred: 1, outbox.StatusSent: 1, outbox.StatusQueued: 1, outbox.StatusSending: 1,
	})
	if got := len(listAll(t, s, "", 10)); got != 4 {
		t.Errorf("listed %d messages after purge, want 4", got)
	}
}

// testPing: an open store accepts a write.
func testPing(t *testing.T, open Open) {
	s := open(t)
	if err := s.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}
