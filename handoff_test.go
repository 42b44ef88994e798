package outbox_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// countingClaims counts the messages claims return.
type countingClaims struct {
	outbox.Store
	claimed atomic.Int64
}

func (c *countingClaims) Claim(ctx context.Context, req outbox.ClaimRequest) ([]*outbox.Record, error) {
	recs, err := c.Store.Claim(ctx, req)
	c.claimed.Add(int64(len(recs)))
	return recs, err
}

// handoffRig starts an engine of workers delivering through send and a
// client handing mail to it.
func handoffRig(t *testing.T, workers int, send outbox.BackendFunc) (*outbox.Client, *countingClaims) {
	t.Helper()
	return handoffRigAt(t, workers, send, time.Now, func(*outbox.EngineConfig) {})
}

// handoffRigAt is handoffRig with a clock and the engine's configuration
// adjusted by tune.
func handoffRigAt(t *testing.T, workers int, send outbox.BackendFunc, now func() time.Time, tune func(*outbox.EngineConfig)) (*outbox.Client, *countingClaims) {
	t.Helper()
	st := &countingClaims{Store: openStore(t)}
	cfg := outbox.EngineConfig{
		Store: st, Workers: workers, Poll: time.Hour, Retention: -1, Now: now,
		Backends: func(string) (outbox.Backend, error) { return send, nil },
	}
	tune(&cfg)
	_, c := startEngine(t, cfg, outbox.ClientConfig{Now: now}, true)
	return c, st
}

// TestHandoffSkipsTheClaim: with workers free, new mail goes straight to
// them, stored claimed in the enqueue's commit: no claim returns it.
func TestHandoffSkipsTheClaim(t *testing.T) {
	var sent atomic.Int64
	c, st := handoffRig(t, 4, func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
		sent.Add(1)
		return answer(nil)(ctx, e)
	})
	waitDrained(t, c, st)
	sent.Store(0)
	for i := range 5 {
		rc, err := c.Enqueue(context.Background(), msg("user@example.org"))
		if err != nil {
			t.Fatal(err)
		}
		if rc.Status != outbox.StatusQueued {
			t.Errorf("message %d: receipt status %s, want queued", i, rc.Status)
		}
		waitSent(t, c, rc.ID)
	}
	if n := st.claimed.Load(); n != 0 {
		t.Errorf("claims returned %d messages; want every one handed off", n)
	}
	if n := sent.Load(); n != 5 {
		t.Errorf("%d sends for 5 messages", n)
	}
}

// TestHandoffWhenBusyLinesUp: with every worker busy, new mail waits in a
// line as long as the workers (one here), already claimed; past it, mail
// is queued and claimed when a worker frees up. Nothing is lost, sent
// twice or sent out of order.
func TestHandoffWhenBusyLinesUp(t *testing.T) {
	release := make(chan struct{})
	var (
		blocking atomic.Bool
		mu       sync.Mutex
		order    []int64
	)
	c, st := handoffRig(t, 1, func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
		if blocking.Load() {
			<-release
			mu.Lock()
			order = append(order, e.ID)
			mu.Unlock()
		}
		return answer(nil)(ctx, e)
	})
	waitDrained(t, c, st)
	blocking.Store(true)
	var ids []int64
	for range 4 {
		rc, err := c.Enqueue(context.Background(), msg("user@example.org"))
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, rc.ID)
	}
	close(release)
	for _, id := range ids {
		waitSent(t, c, id)
	}
	if n := st.claimed.Load(); n != 2 {
		t.Errorf("claims returned %d messages, want the 2 that found the worker and the line busy", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(order, ids) {
		t.Errorf("sent in the order %v, want %v", order, ids)
	}
}

// TestHandoffLineRespectsTheLease: a message that waited in line so long
// that its lease would run out during a delivery is not delivered from the
// line; its lease returns it to the queue, and a claim delivers it once.
func TestHandoffLineRespectsTheLease(t *testing.T) {
	clk := newClock()
	release := make(chan struct{})
	var blocking atomic.Bool
	var sends sync.Map // message id → number of sends
	c, st := handoffRigAt(t, 1, func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
		if blocking.Load() {
			<-release
		}
		n, _ := sends.LoadOrStore(e.ID, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		return answer(nil)(ctx, e)
	}, clk.Now, func(cfg *outbox.EngineConfig) { cfg.Timeout, cfg.Lease = time.Minute, 2*time.Minute })
	waitDrained(t, c, st)
	blocking.Store(true)
	first, err := c.Enqueue(context.Background(), msg("a@example.org"))
	if err != nil {
		t.Fatal(err)
	}
	lined, err := c.Enqueue(context.Background(), msg("b@example.org"))
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(90 * time.Second) // 30 s of lease left, less than a delivery may take
	close(release)
	waitSent(t, c, first.ID)
	if rec, err := c.Get(context.Background(), lined.ID); err != nil || rec.Status != outbox.StatusSending {
		t.Fatalf("the lined-up message: %v, %v; want it left sending for its lease", rec, err)
	}
	if st.claimed.Load() != 0 {
		t.Fatal("claimed before its lease ran out")
	}
	clk.Advance(time.Minute)      // past the lease
	later := msg("c@example.org") // queued, not due: its enqueue wakes the engine
	later.SendAt = clk.Now().Add(time.Hour)
	if _, err := c.Enqueue(context.Background(), later); err != nil {
		t.Fatal(err)
	}
	waitSent(t, c, lined.ID)
	if n := st.claimed.Load(); n != 1 {
		t.Errorf("claims returned %d messages, want the lined-up one once", n)
	}
	if n, _ := sends.Load(lined.ID); n == nil || n.(*atomic.Int64).Load() != 1 {
		t.Errorf("the lined-up message was sent %v times, want once", n)
	}
}

// waitDrained sends messages until one goes straight to a worker (the
// engine's first claims have found the queue empty), then zeroes the
// count of claimed messages.
func waitDrained(t *testing.T, c *outbox.Client, st *countingClaims) {
	t.Helper()
	for range 100 {
		before := st.claimed.Load()
		rc, err := c.Enqueue(context.Background(), msg("warmup@example.org"))
		if err != nil {
			t.Fatal(err)
		}
		waitSent(t, c, rc.ID)
		if st.claimed.Load() == before {
			st.claimed.Store(0)
			return
		}
	}
	t.Fatal("no message went straight to a worker in 100 tries")
}
