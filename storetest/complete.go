package storetest

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// recipientsByKey indexes recipients by leg and address.
func recipientsByKey(rs []outbox.Recipient) map[[2]string]outbox.Recipient {
	m := make(map[[2]string]outbox.Recipient, len(rs))
	for _, r := range rs {
		m[[2]string{r.Leg, r.Addr}] = r
	}
	return m
}

// wantRecipient checks one recipient's state and reply.
func wantRecipient(t *testing.T, rs []outbox.Recipient, leg, addr string, st outbox.RecipientStatus, reply outbox.Reply) {
	t.Helper()
	r, ok := recipientsByKey(rs)[[2]string{leg, addr}]
	if !ok {
		t.Errorf("no recipient %q on leg %q in %+v", addr, leg, rs)
		return
	}
	if r.Status != st || r.Reply != reply {
		t.Errorf("recipient %q leg %q = %s %+v, want %s %+v", addr, leg, r.Status, r.Reply, st, reply)
	}
}

// testComplete: an outcome updates each recipient, appends the attempt
// and schedules the next one; a later claim sees the same states.
func testComplete(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	id := enqueue(t, s, newRecord(1, at(0), "ok@example.org", "bad@example.org", "later@example.org"))[0]
	r := claimOnly(t, s, at(0), id)
	if len(r.Recipients) != 3 {
		t.Fatalf("claimed recipients = %+v, want 3", r.Recipients)
	}

	okReply := outbox.Reply{Code: 250, Enhanced: "2.0.0", Text: "queued as 7"}
	badReply := outbox.Reply{Code: 550, Enhanced: "5.1.1", Text: "no such user"}
	laterReply := outbox.Reply{Code: 451, Enhanced: "4.3.0", Text: "try later"}
	att := &outbox.Attempt{
		At: at(time.Second), Backend: "relay", Duration: 1500 * time.Millisecond,
		Class: outbox.ClassTemporary, Reply: outbox.Reply{Code: 250, Text: "ok"},
		Recipients: []outbox.RecipientResult{
			{Addr: "ok@example.org", Class: outbox.ClassAccepted, Reply: okReply},
			{Addr: "bad@example.org", Class: outbox.ClassPermanent, Reply: badReply},
			{Addr: "later@example.org", Class: outbox.ClassTemporary, Reply: laterReply},
		},
	}
	next := at(10 * time.Minute)
	o := outbox.Outcome{
		ID: id, Lease: r.Lease, Now: at(2 * time.Second), Status: outbox.StatusDeferred,
		NextAttemptAt: next, Attempts: 1, LastError: laterReply.String(),
		Recipients: []outbox.Recipient{
			{Addr: "ok@example.org", Status: outbox.RecipientSent, Reply: okReply, UpdatedAt: at(time.Second)},
			{Addr: "bad@example.org", Status: outbox.RecipientFailed, Reply: badReply, UpdatedAt: at(time.Second)},
			{Addr: "later@example.org", Status: outbox.RecipientPending, Reply: laterReply, UpdatedAt: at(time.Second)},
		},
		Attempt: att,
	}
	if err := s.Complete(ctx, o); err != nil {
		t.Fatalf("Complete: %v", err)
	}

	got := get(t, s, id)
	if got.Status != outbox.StatusDeferred || got.Attempts != 1 || got.LastError != o.LastError {
		t.Errorf("after Complete: %s, %d attempts, %q; want deferred, 1, %q", got.Status, got.Attempts, got.LastError, o.LastError)
	}
	sameTime(t, "NextAttemptAt", got.NextAttemptAt, next)
	sameTime(t, "UpdatedAt", got.UpdatedAt, o.Now)
	wantRecipient(t, got.Recipients, "", "ok@example.org", outbox.RecipientSent, okReply)
	wantRecipient(t, got.Recipients, "", "bad@example.org", outbox.RecipientFailed, badReply)
	wantRecipient(t, got.Recipients, "", "later@example.org", outbox.RecipientPending, laterReply)
	if rc := recipientsByKey(got.Recipients)[[2]string{"", "ok@example.org"}]; !rc.UpdatedAt.Equal(at(time.Second)) {
		t.Errorf("recipient UpdatedAt = %s, want %s", rc.UpdatedAt, at(time.Second))
	}
	if len(got.AttemptLog) != 1 {
		t.Fatalf("AttemptLog = %+v, want 1 attempt", got.AttemptLog)
	}
	a := got.AttemptLog[0]
	if !a.At.Equal(att.At) || a.Backend != att.Backend || a.Duration != att.Duration || a.Class != att.Class || a.Reply != att.Reply {
		t.Errorf("attempt = %+v, want %+v", a, *att)
	}
	if !reflect.DeepEqual(a.Recipients, att.Recipients) {
		t.Errorf("attempt recipients = %+v, want %+v", a.Recipients, att.Recipients)
	}
	wantCounts(t, s, map[outbox.Status]int64{outbox.StatusDeferred: 1})

	if recs := claim(t, s, at(5*time.Minute), 10); len(recs) != 0 {
		t.Fatalf("claim before the next attempt returned %v", ids(recs))
	}
	again := claimOnly(t, s, next, id)
	if again.Attempts != 1 {
		t.Errorf("claimed Attempts = %d, want 1", again.Attempts)
	}
	wantRecipient(t, again.Recipients, "", "ok@example.org", outbox.RecipientSent, okReply)
	wantRecipient(t, again.Recipients, "", "bad@example.org", outbox.RecipientFailed, badReply)
	wantRecipient(t, again.Recipients, "", "later@example.org", outbox.RecipientPending, laterReply)

	// Released without an attempt (e.g. at shutdown): queued, due at once.
	rel := outbox.Outcome{ID: id, Lease: again.Lease, Now: next.Add(time.Second), Status: outbox.StatusQueued,
		NextAttemptAt: next.Add(time.Second), Attempts: 1}
	if err := s.Complete(ctx, rel); err != nil {
		t.Fatalf("Complete (release): %v", err)
	}
	if got := get(t, s, id); got.Status != outbox.StatusQueued || len(got.AttemptLog) != 1 {
		t.Errorf("after release: %s with %d attempts logged, want queued with 1", got.Status, len(got.AttemptLog))
	}
	third := claimOnly(t, s, next.Add(time.Second), id)
	final := outbox.Outcome{ID: id, Lease: third.Lease, Now: next.Add(2 * time.Second), Status: outbox.StatusSent, Attempts: 2,
		Recipients: []outbox.Recipient{{Addr: "later@example.org", Status: outbox.RecipientSent, Reply: okReply}},
		Attempt: &outbox.Attempt{At: next.Add(time.Second), Backend: "relay", Class: outbox.ClassAccepted,
			Recipients: []outbox.RecipientResult{{Addr: "later@example.org", Class: outbox.ClassAccepted, Reply: okReply}}}}
	if err := s.Complete(ctx, final); err != nil {
		t.Fatalf("Complete (final): %v", err)
	}
	got = get(t, s, id)
	if got.Status != outbox.StatusSent || got.Attempts != 2 {
		t.Errorf("final: %s, %d attempts", got.Status, got.Attempts)
	}
	if len(got.AttemptLog) != 2 || !got.AttemptLog[0].At.Before(got.AttemptLog[1].At) {
		t.Errorf("AttemptLog = %+v, want 2 attempts, oldest first", got.AttemptLog)
	}
	wantRecipient(t, got.Recipients, "", "later@example.org", outbox.RecipientSent, okReply)
	wantRecipient(t, got.Recipients, "", "bad@example.org", outbox.RecipientFailed, badReply)
	wantCounts(t, s, map[outbox.Status]int64{outbox.StatusSent: 1})
	if _, ok, err := s.NextDue(ctx); err != nil || ok {
		t.Errorf("NextDue after the last message was sent: ok=%v err=%v, want nothing pending", ok, err)
	}
}

// testCompleteNewLeg: a recipient on a new backend leg is added without
// touching the existing rows.
func testCompleteNewLeg(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	id := enqueue(t, s, newRecord(1, at(0), "to@example.org"))[0]
	r := claimOnly(t, s, at(0), id)
	accepted := outbox.Reply{Code: 250, Text: "ok"}
	down := outbox.Reply{Text: "connection refused"}
	o := outbox.Outcome{ID: id, Lease: r.Lease, Now: at(time.Second), Status: outbox.StatusDeferred,
		NextAttemptAt: at(time.Minute), Attempts: 1,
		Recipients: []outbox.Recipient{
			{Addr: "to@example.org", Status: outbox.RecipientSent, Reply: accepted},
			{Addr: "to@example.org", Leg: "a", Status: outbox.RecipientSent, Reply: accepted},
			{Addr: "to@example.org", Leg: "b", Status: outbox.RecipientPending, Reply: down},
		}}
	if err := s.Complete(ctx, o); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	r = claimOnly(t, s, at(time.Minute), id)
	if len(r.Recipients) != 3 {
		t.Fatalf("recipients = %+v, want 3 (legs \"\", a, b)", r.Recipients)
	}
	wantRecipient(t, r.Recipients, "", "to@example.org", outbox.RecipientSent, accepted)
	wantRecipient(t, r.Recipients, "a", "to@example.org", outbox.RecipientSent, accepted)
	wantRecipient(t, r.Recipients, "b", "to@example.org", outbox.RecipientPending, down)
	o = outbox.Outcome{ID: id, Lease: r.Lease, Now: at(2 * time.Minute), Status: outbox.StatusSent, Attempts: 2,
		Recipients: []outbox.Recipient{{Addr: "to@example.org", Leg: "b", Status: outbox.RecipientSent, Reply: accepted}}}
	if err := s.Complete(ctx, o); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	got := get(t, s, id)
	if got.Status != outbox.StatusSent || len(got.Recipients) != 3 {
		t.Fatalf("got %s with %+v", got.Status, got.Recipients)
	}
	wantRecipient(t, got.Recipients, "b", "to@example.org", outbox.RecipientSent, accepted)
	if got.Recipients[0].Leg != "" {
		t.Errorf("recipients = %+v: the enqueued recipient should stay first", got.Recipients)
	}
}

// testCompleteLeaseLost: outcomes for messages not held under the given
// lease are refused and change nothing.
func testCompleteLeaseLost(t *testing.T, open Open) {
	s := open(t)
	ctx := context.Background()
	id := enqueue(t, s, newRecord(1, at(0)))[0]
	sent := outbox.Outcome{ID: id, Now: at(time.Second), Status: outbox.StatusSent,
		Recipients: []outbox.Recipient{{Addr: "user1@example.org", Status: outbox.RecipientSent}}}
	if err := s.Complete(ctx, sent); !errors.Is(err, outbox.ErrLeaseLost) {
		t.Errorf("Complete of a queued message: %v, want ErrLeaseLost", err)
	}
	r := claimOnly(t, s, at(0), id)
	wrong := sent
	wrong.Lease = r.Lease + 1000
	if err := s.Complete(ctx, wrong); !errors.Is(err, outbox.ErrLeaseLost) {
		t.Errorf("Complete with a wrong lease: %v, want ErrLeaseLost", err)
	}
	ok := sent
	ok.Lease = r.Lease
	if err := s.Complete(ctx, ok); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if err := s.Complete(ctx, ok); !errors.Is(err, outbox.ErrLeaseLost) {
		t.Errorf("second Complete with the same lease: %v, want ErrLeaseLost", err)
	}
	got := get(t, s, id)
	if got.Status != outbox.StatusSent || got.Recipients[0].Status != outbox.RecipientSent {
		t.Errorf("got %s %+v, want sent", got.Status, got.Recipients)
	}
	wantCounts(t, s, map[outbox.Status]int64{outbox.StatusSent: 1})
}
