package outbox_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/sqlite"
)

// twoLegs is a combined backend with two legs: leg "0" always accepts,
// leg "1" answers as its field says. It records the envelopes it gets.
type twoLegs struct {
	mu    sync.Mutex
	leg1  outbox.Reply
	calls []outbox.Envelope
}

func (b *twoLegs) HasLegs() bool { return true }
func (b *twoLegs) Close() error  { return nil }

func (b *twoLegs) Send(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls = append(b.calls, *e)
	ok := outbox.Reply{Code: 250, Text: "ok"}
	var out, legs []outbox.RecipientResult
	for _, a := range e.To {
		out = append(out, outbox.RecipientResult{Addr: a, Class: outbox.ClassAccepted, Reply: ok})
		if !e.Settled.Accepted("0", a) {
			legs = append(legs, outbox.RecipientResult{Addr: a, Leg: "0", Class: outbox.ClassAccepted, Reply: ok})
		}
		legs = append(legs, outbox.RecipientResult{Addr: a, Leg: "1", Class: outbox.Classify(b.leg1), Reply: b.leg1})
	}
	return append(out, legs...), nil
}

func legState(rec *outbox.Record, leg string) outbox.RecipientStatus {
	for _, rc := range rec.Recipients {
		if rc.Leg == leg {
			return rc.Status
		}
	}
	return ""
}

// startLegsEngine runs an engine delivering through be on a SQLite store,
// on clk, with the retry policy, and returns it with its client.
func startLegsEngine(t *testing.T, be outbox.Backend, clk *clock, retry outbox.RetryPolicy) (*outbox.Engine, *outbox.Client) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return startEngine(t, outbox.EngineConfig{
		Store: st, Backends: func(string) (outbox.Backend, error) { return be, nil }, Retry: retry,
		Now: clk.Now, Jitter: func() float64 { return 0.5 }, Poll: time.Hour, Retention: -1,
	}, outbox.ClientConfig{Now: clk.Now}, false)
}

// TestEnginePendingLegExpires: a sent message whose second leg keeps
// failing is retried for that leg alone, with backoff, and the lifetime
// expires the leg while the message stays sent.
func TestEnginePendingLegExpires(t *testing.T) {
	be := &twoLegs{leg1: outbox.Reply{Code: 451, Text: "try later"}}
	clk := newClock()
	eng, client := startLegsEngine(t, be, clk,
		outbox.RetryPolicy{MinDelay: time.Hour, MaxDelay: time.Hour, MaxLifetime: 150 * time.Minute})
	rc, err := client.Enqueue(context.Background(), msg("a@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	wait := func(what string, cond func(*outbox.Record) bool) *outbox.Record {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			rec, err := client.Get(context.Background(), rc.ID)
			if err != nil {
				t.Fatal(err)
			}
			if cond(rec) {
				return rec
			}
			if time.Now().After(deadline) {
				t.Fatalf("waited for %s: %s, %+v", what, rec.Status, rec.Recipients)
			}
		}
	}
	rec := wait("sent with leg 1 pending", func(rec *outbox.Record) bool { return rec.Status == outbox.StatusSent })
	if legState(rec, "0") != outbox.RecipientSent || legState(rec, "1") != outbox.RecipientPending {
		t.Fatalf("recipients %+v", rec.Recipients)
	}
	if want := clk.Now().Add(time.Hour); !rec.NextAttemptAt.Equal(want) {
		t.Errorf("leg due at %s, want %s (the backoff)", rec.NextAttemptAt, want)
	}

	clk.Advance(time.Hour)
	eng.Notify()
	rec = wait("a second attempt", func(rec *outbox.Record) bool { return len(rec.AttemptLog) == 2 })
	if rec.Status != outbox.StatusSent || legState(rec, "1") != outbox.RecipientPending || rec.Attempts != 2 {
		t.Errorf("after the second attempt: %s, %d attempts, %+v", rec.Status, rec.Attempts, rec.Recipients)
	}

	// The next attempt would pass the lifetime: the leg expires now.
	clk.Advance(time.Hour)
	eng.Notify()
	rec = wait("leg 1 expired", func(rec *outbox.Record) bool { return legState(rec, "1") == outbox.RecipientExpired })
	if rec.Status != outbox.StatusSent || !rec.NextAttemptAt.IsZero() {
		t.Errorf("after the leg expired: %s, next attempt %s; want sent, none", rec.Status, rec.NextAttemptAt)
	}

	be.mu.Lock()
	defer be.mu.Unlock()
	if len(be.calls) != 3 {
		t.Fatalf("backend called %d times, want 3", len(be.calls))
	}
	for _, c := range be.calls[1:] {
		if !c.Settled.Accepted("0", "a@example.com") || !c.Settled.Accepted("", "a@example.com") {
			t.Errorf("a retry was not told that leg 0 and the message were settled: %v", c.Settled)
		}
	}
	if be.calls[0].Settled != nil {
		t.Errorf("first attempt had Settled %v, want nil", be.calls[0].Settled)
	}
}

// primaryAndSecondary is a combined backend whose overall answer is its
// primary leg's ("0"); leg "1" answers as its field says.
type primaryAndSecondary struct {
	mu             sync.Mutex
	primary, other outbox.Reply
}

func (b *primaryAndSecondary) HasLegs() bool { return true }
func (b *primaryAndSecondary) Close() error  { return nil }

func (b *primaryAndSecondary) Send(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out, legs []outbox.RecipientResult
	for _, a := range e.To {
		p := outbox.RecipientResult{Addr: a, Class: outbox.Classify(b.primary), Reply: b.primary}
		out = append(out, p)
		p.Leg = "0"
		legs = append(legs, p)
		if _, done := e.Settled.State("1", a); !done {
			legs = append(legs, outbox.RecipientResult{Addr: a, Leg: "1", Class: outbox.Classify(b.other), Reply: b.other})
		}
	}
	return append(out, legs...), nil
}

// TestEngineMaxAttemptsSparesThrottled: when a secondary leg's failures
// count the attempts up to max_attempts, the leg fails, but a recipient
// whose primary only throttled goes on, and is sent once it is taken.
func TestEngineMaxAttemptsSparesThrottled(t *testing.T) {
	be := &primaryAndSecondary{primary: outbox.Reply{Code: 421, Enhanced: "4.7.0", Text: "slow down"},
		other: outbox.Reply{Code: 451, Text: "down"}}
	clk := newClock()
	eng, client := startLegsEngine(t, be, clk, outbox.RetryPolicy{MinDelay: time.Minute, MaxDelay: time.Minute, MaxAttempts: 2})
	rc, err := client.Enqueue(context.Background(), msg("a@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	wait := func(attempts int) *outbox.Record {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
			rec, err := client.Get(context.Background(), rc.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(rec.AttemptLog) >= attempts {
				return rec
			}
			if time.Now().After(deadline) {
				t.Fatalf("waited for attempt %d: %s, %+v", attempts, rec.Status, rec.Recipients)
			}
		}
	}
	wait(1)
	clk.Advance(time.Hour)
	eng.Notify()
	rec := wait(2)
	if rec.Status != outbox.StatusDeferred || rec.Attempts != 2 || legState(rec, "1") != outbox.RecipientFailed ||
		legState(rec, "0") != outbox.RecipientPending {
		t.Fatalf("at max_attempts: %s, %d attempts, %+v; want deferred, leg 1 failed, leg 0 pending",
			rec.Status, rec.Attempts, rec.Recipients)
	}
	be.mu.Lock()
	be.primary = outbox.Reply{Code: 250, Text: "ok"}
	be.mu.Unlock()
	clk.Advance(time.Hour)
	eng.Notify()
	rec = wait(3)
	if rec.Status != outbox.StatusSent || legState(rec, "0") != outbox.RecipientSent {
		t.Errorf("the primary took it: %s, %+v; want sent", rec.Status, rec.Recipients)
	}
}
