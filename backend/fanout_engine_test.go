package backend_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/outboxtest"
)

// TestFanoutSecondaryDown: the primary accepts, the secondary is down.
// The message is sent at once; the secondary alone is retried, with
// backoff, until it accepts; the primary receives the message exactly once
// and the message never leaves sent.
func TestFanoutSecondaryDown(t *testing.T) {
	primary, secondary := outboxtest.NewSink(t), outboxtest.NewSink(t)
	secondary.Stop()
	r := newRig(t, fmt.Sprintf("fanout(%s %s)", sinkURL(primary.Addr()), sinkURL(secondary.Addr())), nil, nil)
	const to = "customer@example.org"
	id := r.send(to)

	rec := r.waitStatus(id, outbox.StatusSent)
	if leg(rec, "0", to) != outbox.RecipientSent || leg(rec, "1", to) != outbox.RecipientPending {
		t.Fatalf("after the first attempt: recipients %+v, want leg 0 sent and leg 1 pending", rec.Recipients)
	}
	if rec.NextAttemptAt.IsZero() || !strings.Contains(rec.LastError, "leg 1") {
		t.Errorf("next attempt %s, last error %q: want the leg scheduled and named", rec.NextAttemptAt, rec.LastError)
	}
	a := rec.AttemptLog[0]
	if a.Recipients[0].Via != sinkURL(primary.Addr()) {
		t.Errorf("overall answer via %q, want the primary's URL", a.Recipients[0].Via)
	}

	// The secondary is still down: one more attempt, the leg alone.
	r.advance(time.Minute)
	rec = r.wait(id, "a second attempt", func(rec *outbox.Record) bool { return len(rec.AttemptLog) == 2 })
	if rec.Status != outbox.StatusSent || leg(rec, "1", to) != outbox.RecipientPending || rec.Attempts != 2 {
		t.Fatalf("after the second attempt: %s, %d attempts, recipients %+v", rec.Status, rec.Attempts, rec.Recipients)
	}
	for _, rr := range rec.AttemptLog[1].Recipients {
		if rr.Leg != "1" {
			t.Errorf("the second attempt answered for %+v: only leg 1 should have been sent", rr)
		}
	}

	secondary.Start()
	r.advance(time.Minute)
	rec = r.wait(id, "leg 1 to be delivered", func(rec *outbox.Record) bool { return leg(rec, "1", to) == outbox.RecipientSent })
	if rec.Status != outbox.StatusSent {
		t.Errorf("status %s, want sent", rec.Status)
	}
	if n, m := primary.Count(), secondary.Count(); n != 1 || m != 1 {
		t.Errorf("primary received %d, secondary %d; want 1 each", n, m)
	}
	// Nothing more is due.
	r.advance(time.Hour)
	time.Sleep(50 * time.Millisecond)
	if rec := r.get(id); len(rec.AttemptLog) != 3 || primary.Count() != 1 {
		t.Errorf("after the leg was delivered: %d attempts logged, primary has %d", len(rec.AttemptLog), primary.Count())
	}
}

// TestFanoutPrimaryDown: the primary is down, the copies (console and
// memory) accept. The message is deferred; the retry goes to the primary
// only, so the copies are not duplicated.
func TestFanoutPrimaryDown(t *testing.T) {
	primary := outboxtest.NewSink(t)
	primary.Stop()
	r := newRig(t, fmt.Sprintf("fanout(%s console: memory:)", sinkURL(primary.Addr())), nil, nil)
	id := r.send("a@example.org", "b@example.org")
	rec := r.waitStatus(id, outbox.StatusDeferred)
	if leg(rec, "1", "a@example.org") != outbox.RecipientSent || leg(rec, "2", "b@example.org") != outbox.RecipientSent {
		t.Errorf("copies not recorded as sent: %+v", rec.Recipients)
	}
	primary.Start()
	r.advance(time.Minute)
	rec = r.waitStatus(id, outbox.StatusSent)
	if n := r.console.Count(rec.MessageID); n != 1 {
		t.Errorf("the console printed the message %d times, want 1", n)
	}
	if n := r.memory.Len(); n != 1 {
		t.Errorf("memory kept %d messages, want 1", n)
	}
	if m := primary.WaitFor(1, 5*time.Second); len(m) != 1 || len(m[0].To) != 2 {
		t.Errorf("primary received %d messages (%v), want 1 to both recipients", len(m), m)
	}
	if rec.Attempts != 2 {
		t.Errorf("attempts %d, want 2", rec.Attempts)
	}
}

// TestFanoutRequireAll: with require=all the message is sent only once
// every child accepted; until then it is deferred, and the child that
// accepted is not sent it again.
func TestFanoutRequireAll(t *testing.T) {
	a, b := outboxtest.NewSink(t), outboxtest.NewSink(t)
	b.RejectRcpt("", 451, "4.3.0", "try later").Times(1)
	r := newRig(t, fmt.Sprintf("fanout(%s %s)?require=all", sinkURL(a.Addr()), sinkURL(b.Addr())), nil, nil)
	id := r.send("x@example.org")
	r.waitStatus(id, outbox.StatusDeferred)
	r.advance(time.Minute)
	r.waitStatus(id, outbox.StatusSent)
	if a.Count() != 1 || b.Count() != 1 {
		t.Errorf("a received %d, b %d; want 1 each", a.Count(), b.Count())
	}
}
