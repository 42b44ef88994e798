package backend_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend/limit"
	"github.com/outboxmail/outbox/backend/redirect"
	"github.com/outboxmail/outbox/outboxtest"
)

// TestFailoverFirstDown: with the first sink down, the second receives
// every message within the first attempt; the leg that delivered and the
// failed-over answer are in the attempt log. Once the first sink is back
// and its cool-down has passed, traffic returns to it.
func TestFailoverFirstDown(t *testing.T) {
	first, second := outboxtest.NewSink(t), outboxtest.NewSink(t)
	first.Stop()
	const cooldown = 300 * time.Millisecond
	r := newRig(t, fmt.Sprintf("failover(%s %s)?cooldown=%s", sinkURL(first.Addr()), sinkURL(second.Addr()), cooldown), nil, nil)
	var ids []int64
	for i := range 5 {
		ids = append(ids, r.send(fmt.Sprintf("r%d@example.org", i)))
	}
	for i, id := range ids {
		rec := r.waitStatus(id, outbox.StatusSent)
		to := fmt.Sprintf("r%d@example.org", i)
		if rec.Attempts != 1 || len(rec.AttemptLog) != 1 {
			t.Errorf("message %d: %d attempts, %d logged; want one attempt", id, rec.Attempts, len(rec.AttemptLog))
		}
		if leg(rec, "1", to) != outbox.RecipientSent || leg(rec, "0", to) != "" {
			t.Errorf("message %d: recipients %+v, want leg 1 sent and no row for leg 0", id, rec.Recipients)
		}
		if c := rec.AttemptLog[0].Class; c != outbox.ClassAccepted {
			t.Errorf("message %d: attempt class %s, want accepted: the failed-over answer is not the attempt's", id, c)
		}
		if via := rec.AttemptLog[0].Recipients[0].Via; via != sinkURL(second.Addr()) {
			t.Errorf("message %d delivered via %q, want the second sink", id, via)
		}
	}
	if second.Count() != 5 || first.Count() != 0 {
		t.Fatalf("first received %d, second %d; want 0 and 5", first.Count(), second.Count())
	}
	// The first message tried the first sink and failed over; it then
	// cooled down, so later messages may skip it.
	if tried := r.get(ids[0]).AttemptLog[0].Recipients; len(tried) < 2 || !tried[1].FailedOver || tried[1].Leg != "0" {
		t.Errorf("attempt log %+v: want the first sink's failed-over answer", tried)
	}

	first.Start()
	time.Sleep(cooldown + 50*time.Millisecond)
	for i := range 5 {
		r.waitStatus(r.send(fmt.Sprintf("s%d@example.org", i)), outbox.StatusSent)
	}
	if first.Count() != 5 || second.Count() != 5 {
		t.Errorf("after the cool-down: first received %d, second %d; want 5 and 5", first.Count(), second.Count())
	}
}

// TestFailoverPermanentIsTheAnswer: a 5xx for a recipient is that
// recipient's answer: it is not failed over to the next child.
func TestFailoverPermanentIsTheAnswer(t *testing.T) {
	first, second := outboxtest.NewSink(t), outboxtest.NewSink(t)
	first.RejectRcpt("bad@example.org", 550, "5.1.1", "no such user")
	r := newRig(t, fmt.Sprintf("failover(%s %s)", sinkURL(first.Addr()), sinkURL(second.Addr())), nil, nil)
	id := r.send("ok@example.org", "bad@example.org")
	rec := r.waitStatus(id, outbox.StatusSent)
	if leg(rec, "", "bad@example.org") != outbox.RecipientFailed || leg(rec, "0", "bad@example.org") != outbox.RecipientFailed {
		t.Errorf("recipients %+v: want bad@ failed by the first child", rec.Recipients)
	}
	if second.Count() != 0 {
		t.Errorf("the second child received %d messages, want none", second.Count())
	}
}

// TestFailoverNestedLegNotResent: in failover(fanout(A B) C), a fanout
// child that accepted the message while the fanout's primary failed (so
// the failover moved on) is not sent the message again by the next
// attempt.
func TestFailoverNestedLegNotResent(t *testing.T) {
	a, b, c := outboxtest.NewSink(t), outboxtest.NewSink(t), outboxtest.NewSink(t)
	a.Stop()
	c.Stop()
	r := newRig(t, fmt.Sprintf("failover(fanout(%s %s) %s)", sinkURL(a.Addr()), sinkURL(b.Addr()), sinkURL(c.Addr())), nil, nil)
	id := r.send("to@example.org")
	r.wait(id, "a first attempt", func(rec *outbox.Record) bool { return rec.Attempts >= 1 })
	if b.Count() != 1 {
		t.Fatalf("B received %d messages, want 1", b.Count())
	}
	r.advance(2 * time.Minute)
	r.wait(id, "a second attempt", func(rec *outbox.Record) bool { return rec.Attempts >= 2 })
	if b.Count() != 1 {
		t.Errorf("B received %d messages after it accepted; want 1", b.Count())
	}
}

// TestFailoverOverflowsPastALimitedChild: a child over its own
// [limits] rate answers "throttled" inside the failover, which passes
// the message on to the next child in the same attempt: the overflow
// goes to the fallback, and every message is sent.
func TestFailoverOverflowsPastALimitedChild(t *testing.T) {
	primary, fallback := outboxtest.NewSink(t), outboxtest.NewSink(t)
	named := map[string]string{"primary": sinkURL(primary.Addr()), "fallback": sinkURL(fallback.Addr())}
	r := newRig(t, "failover(primary fallback)?cooldown=2m", named, func(name string, b outbox.Backend) (outbox.Backend, error) {
		lc := limit.Config{Name: name}
		if name == "primary" {
			lc.Rates = []limit.Rate{{N: 1, Per: time.Hour}}
		}
		return nilSafe(limit.New(b, lc))
	})
	var ids []int64
	for i := range 3 {
		ids = append(ids, r.send(fmt.Sprintf("r%d@example.org", i)))
	}
	for _, id := range ids {
		r.waitStatus(id, outbox.StatusSent)
	}
	if p, f := primary.Count(), fallback.Count(); p != 1 || f != 2 {
		t.Errorf("primary got %d, fallback %d; want 1 (its rate) and 2", p, f)
	}
}

// TestFailoverKeepsWhatMayHaveBeenTaken: a child whose connection broke
// after the whole message went out may have taken it, so the failover
// does not pass it to the next child in the same attempt (that could
// deliver it twice): it stays pending, to be retried later.
func TestFailoverKeepsWhatMayHaveBeenTaken(t *testing.T) {
	for _, opts := range [][]outboxtest.Option{{outboxtest.WithoutChunking()}, nil} { // DATA, BDAT
		first, second := outboxtest.NewSink(t, opts...), outboxtest.NewSink(t)
		first.CutAfterData()
		r := newRig(t, fmt.Sprintf("failover(%s %s)", sinkURL(first.Addr()), sinkURL(second.Addr())), nil, nil)
		id := r.send("r@example.org")
		rec := r.wait(id, "an attempt", func(rec *outbox.Record) bool { return len(rec.AttemptLog) > 0 })
		if rec.Status != outbox.StatusDeferred || second.Count() != 0 {
			t.Errorf("after a cut after the message: %s, the second child got %d; want deferred, 0", rec.Status, second.Count())
		}
		if got := rec.AttemptLog[0].Recipients; len(got) != 1 || !got[0].Uncertain || got[0].Class != outbox.ClassTemporary {
			t.Errorf("attempt log %+v, want one temporary answer marked uncertain", got)
		}
	}
}

// TestFailoverKeepsUncertainThroughWrappers: the "may have accepted"
// mark survives the wrappers a failover's child may be behind: the
// staging redirect (for its allowed and its redirected recipients) and
// chaos's injected cut after DATA.
func TestFailoverKeepsUncertainThroughWrappers(t *testing.T) {
	t.Run("redirect", func(t *testing.T) {
		first, second := outboxtest.NewSink(t), outboxtest.NewSink(t)
		first.CutAfterData()
		named := map[string]string{"primary": sinkURL(first.Addr()), "fallback": sinkURL(second.Addr())}
		r := newRig(t, "failover(primary fallback)", named, func(name string, b outbox.Backend) (outbox.Backend, error) {
			if name != "primary" && name != "fallback" {
				return b, nil
			}
			return nilSafe(redirect.New(b, redirect.Config{To: []string{"qa@example.com"}, Allow: []string{"@example.org"}}))
		})
		id := r.send("real@example.org", "someone@elsewhere.test")
		rec := r.wait(id, "an attempt", func(rec *outbox.Record) bool { return len(rec.AttemptLog) > 0 })
		if rec.Status != outbox.StatusDeferred || second.Count() != 0 {
			t.Errorf("%s, the fallback got %d; want deferred, 0", rec.Status, second.Count())
		}
	})
	t.Run("chaos", func(t *testing.T) {
		first, second := outboxtest.NewSink(t), outboxtest.NewSink(t)
		r := newRig(t, fmt.Sprintf("failover(chaos(%s)?drop_after_data=1&seed=1 %s)", sinkURL(first.Addr()), sinkURL(second.Addr())), nil, nil)
		id := r.send("r@example.org")
		rec := r.wait(id, "an attempt", func(rec *outbox.Record) bool { return len(rec.AttemptLog) > 0 })
		if first.Count() != 1 || second.Count() != 0 || rec.Status != outbox.StatusDeferred {
			t.Errorf("%s; first child got %d, second %d: want deferred, 1 and 0", rec.Status, first.Count(), second.Count())
		}
	})
}
