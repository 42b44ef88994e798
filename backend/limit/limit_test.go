package limit_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend/limit"
	"github.com/outboxmail/outbox/backend/memory"
	"github.com/outboxmail/outbox/backendtest"
)

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func TestParseRate(t *testing.T) {
	for in, want := range map[string]limit.Rate{
		"20/s": {20, time.Second}, "600/m": {600, time.Minute}, "5000/h": {5000, time.Hour},
		"100000/d": {100000, 24 * time.Hour}, "10/30s": {10, 30 * time.Second},
	} {
		got, err := limit.ParseRate(in)
		if err != nil || got != want {
			t.Errorf("ParseRate(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"20", "0/s", "x/s", "20/week", "20/-1s"} {
		if _, err := limit.ParseRate(in); err == nil {
			t.Errorf("ParseRate(%q) succeeded", in)
		}
	}
}

// TestReservePacesAndHoldsTurns: past the burst, each message is told to
// wait for its own turn, one interval after the previous; a message that
// comes back at its turn goes, without taking another.
func TestReservePacesAndHoldsTurns(t *testing.T) {
	c := newClock()
	l, err := limit.New(memory.New(memory.Config{}), limit.Config{Rates: []limit.Rate{{10, time.Second}}, Burst: 2, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	for i := range 5 {
		done, wait, ok := l.Reserve(backendtest.Envelope(i+1, "a@example.org"))
		if ok {
			done()
		}
		waits = append(waits, wait)
	}
	want := []time.Duration{0, 0, 100 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond}
	for i := range want {
		if waits[i] != want[i] {
			t.Fatalf("waits %v, want %v", waits, want)
		}
	}
	c.Advance(200 * time.Millisecond)
	if _, wait, ok := l.Reserve(backendtest.Envelope(5, "a@example.org")); ok || wait != 100*time.Millisecond {
		t.Errorf("message 5 back early: ok=%v wait=%s, want to wait the 100ms left", ok, wait)
	}
	if done, _, ok := l.Reserve(backendtest.Envelope(4, "a@example.org")); !ok {
		t.Error("message 4 back at its turn was refused")
	} else {
		done()
	}
}

func TestConcurrencyLimits(t *testing.T) {
	l, err := limit.New(memory.New(memory.Config{}), limit.Config{MaxConcurrent: 2, MaxPerDomain: 1})
	if err != nil {
		t.Fatal(err)
	}
	d1, _, ok1 := l.Reserve(backendtest.Envelope(1, "a@one.example"))
	_, _, ok2 := l.Reserve(backendtest.Envelope(2, "b@ONE.example"))
	d3, _, ok3 := l.Reserve(backendtest.Envelope(3, "c@two.example"))
	_, wait, ok4 := l.Reserve(backendtest.Envelope(4, "d@three.example"))
	if !ok1 || ok2 || !ok3 || ok4 || wait <= 0 {
		t.Fatalf("reservations %v %v %v %v (wait %s): want the same domain and the third at once refused", ok1, ok2, ok3, ok4, wait)
	}
	d1()
	d1() // done is idempotent
	if d, _, ok := l.Reserve(backendtest.Envelope(2, "b@one.example")); !ok {
		t.Error("a freed domain slot was refused")
	} else {
		d()
	}
	d3()
}

// TestThrottlingHalvesAndRecovers: each throttling answer halves the
// rate; every recovery period it grows by a quarter, back to 1.
func TestThrottlingHalvesAndRecovers(t *testing.T) {
	c := newClock()
	throttle := true
	b := outbox.BackendFunc(func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
		if throttle {
			return nil, &outbox.SendError{Reply: outbox.Reply{Code: 421, Enhanced: "4.7.0", Text: "slow down"}}
		}
		return outbox.Accepted(e, outbox.Reply{Code: 250}), nil
	})
	l, err := limit.New(b, limit.Config{Rates: []limit.Rate{{10, time.Second}}, Burst: 1, Recovery: time.Minute, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	send := func(n int) {
		c.Advance(time.Second)
		l.Send(context.Background(), backendtest.Envelope(n, "a@example.org"))
	}
	send(1)
	send(2)
	if f := l.Factor(); f != 0.25 {
		t.Fatalf("factor after two throttling answers = %g, want 0.25", f)
	}
	c.Advance(time.Second)
	done, _, _ := l.Reserve(backendtest.Envelope(10, "a@example.org"))
	done()
	if _, wait, ok := l.Reserve(backendtest.Envelope(11, "a@example.org")); ok || wait != 400*time.Millisecond {
		t.Errorf("at a quarter of 10/s: ok=%v wait=%s, want 400ms", ok, wait)
	}
	throttle = false
	c.Advance(time.Minute)
	if f := l.Factor(); f != 0.3125 {
		t.Errorf("factor after one recovery period = %g, want 0.3125", f)
	}
	c.Advance(10 * time.Minute)
	if f := l.Factor(); f != 1 {
		t.Errorf("factor after ten recovery periods = %g, want 1", f)
	}
}

// TestUnlimitedBackendGetsARate: a backend with no rate that is throttled
// gets half its recent rate, which goes away once recovered.
func TestUnlimitedBackendGetsARate(t *testing.T) {
	c := newClock()
	throttle := false
	b := outbox.BackendFunc(func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
		if throttle {
			return nil, &outbox.SendError{Reply: outbox.Reply{Code: 421, Text: "slow down"}}
		}
		return outbox.Accepted(e, outbox.Reply{Code: 250}), nil
	})
	l, err := limit.New(b, limit.Config{Recovery: time.Minute, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 40 { // 40 messages in 4 s: 10/s
		c.Advance(100 * time.Millisecond)
		if _, err := l.Send(context.Background(), backendtest.Envelope(i+1, "a@example.org")); err != nil {
			t.Fatal(err)
		}
	}
	throttle = true
	l.Send(context.Background(), backendtest.Envelope(100, "a@example.org"))
	throttle = false
	var refused int
	for i := range 10 {
		if done, _, ok := l.Reserve(backendtest.Envelope(200+i, "a@example.org")); ok {
			done()
		} else {
			refused++
		}
	}
	if refused == 0 {
		t.Error("a throttled backend with no rate let 10 messages through at once")
	}
	c.Advance(20 * time.Minute)
	for i := range 10 {
		done, _, ok := l.Reserve(backendtest.Envelope(300+i, "a@example.org"))
		if !ok {
			t.Fatalf("after recovery, message %d was refused", i)
		}
		done()
	}
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backendtest.Target {
		mem := memory.New(memory.Config{})
		l, err := limit.New(mem, limit.Config{MaxConcurrent: 100})
		if err != nil {
			t.Fatal(err)
		}
		return backendtest.Target{Backend: l, Received: func(id string) int {
			n := 0
			for _, m := range mem.Messages() {
				if m.MessageID == id {
					n++
				}
			}
			return n
		}}
	})
}

// TestSaturated: a backend out of rate tokens, or at its concurrency
// limit, is saturated until the next token or a delivery's end; a turn
// kept for a message that has come and is not taken frees it, and the
// next message without a turn takes it over.
func TestSaturated(t *testing.T) {
	c := newClock()
	l, err := limit.New(memory.New(memory.Config{}), limit.Config{Rates: []limit.Rate{{10, time.Second}}, Burst: 1, MaxConcurrent: 1, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	if sat, _ := l.Saturated(); sat {
		t.Fatal("a fresh backend is saturated")
	}
	done, _, ok := l.Reserve(backendtest.Envelope(1, "a@example.org"))
	if !ok {
		t.Fatal("first message refused")
	}
	if sat, until := l.Saturated(); !sat || !until.After(c.Now()) {
		t.Fatalf("at max_concurrent with no token: saturated=%v until %s, want saturated until later", sat, until)
	}
	done()
	if sat, until := l.Saturated(); !sat || !until.Equal(c.Now().Add(100*time.Millisecond)) {
		t.Fatalf("no token: saturated=%v until %s, want until the next token in 100ms", sat, until.Sub(c.Now()))
	}
	c.Advance(100 * time.Millisecond)
	if sat, _ := l.Saturated(); sat {
		t.Fatal("saturated once a token came")
	}
	// Message 2 takes the token; message 3 is told to wait for its turn.
	d2, _, ok2 := l.Reserve(backendtest.Envelope(2, "a@example.org"))
	d2()
	if _, wait, ok3 := l.Reserve(backendtest.Envelope(3, "a@example.org")); !ok2 || ok3 || wait != 100*time.Millisecond {
		t.Fatalf("ok2=%v ok3=%v wait %s, want 2 sent and 3 told 100ms", ok2, ok3, wait)
	}
	if sat, until := l.Saturated(); !sat || !until.Equal(c.Now().Add(100*time.Millisecond)) {
		t.Fatalf("turn kept for 3: saturated=%v until +%s, want until that turn in 100ms", sat, until.Sub(c.Now()))
	}
	c.Advance(100 * time.Millisecond)
	if sat, _ := l.Saturated(); sat {
		t.Fatal("saturated while message 3's turn has come")
	}
	d4, _, ok4 := l.Reserve(backendtest.Envelope(4, "a@example.org"))
	if !ok4 {
		t.Fatal("message 4 did not take over the turn message 3 left")
	}
	d4()
	if sat, _ := l.Saturated(); !sat {
		t.Error("not saturated once the only turn was taken")
	}
}

// TestQuietBackendThrottledKeepsOnePerSecond: a quiet backend with no
// rate of its own, throttled twice, still takes a message a second
// (its measured rate halved twice would be one every few seconds).
func TestQuietBackendThrottledKeepsOnePerSecond(t *testing.T) {
	c := newClock()
	b := outbox.BackendFunc(func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
		return nil, &outbox.SendError{Reply: outbox.Reply{Code: 421, Text: "slow down"}}
	})
	l, err := limit.New(b, limit.Config{Recovery: time.Hour, Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 { // two throttled sends, a second apart: a recent rate of 0.2/s
		c.Advance(time.Second)
		l.Send(context.Background(), backendtest.Envelope(i+1, "a@example.org"))
	}
	for i := range 5 {
		c.Advance(time.Second)
		done, wait, ok := l.Reserve(backendtest.Envelope(10+i, "a@example.org"))
		if !ok {
			t.Fatalf("second %d: refused, next turn in %s; want one message a second", i+1, wait)
		}
		done()
	}
	if _, _, ok := l.Reserve(backendtest.Envelope(20, "a@example.org")); ok {
		t.Error("a second message within the same second was let through: the backend is not slowed down")
	}
}
