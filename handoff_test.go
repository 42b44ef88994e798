package outbox_test

import (
	"context"
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
	st := &countingClaims{Store: openStore(t)}
	_, c := startEngine(t, outbox.EngineConfig{
		Store: st, Workers: workers, Poll: time.Hour, Retention: -1,
		Backends: func(string) (outbox.Backend, error) { return send, nil },
	}, outbox.ClientConfig{}, true)
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

// TestHandoffWhenBusyQueues: with every worker busy, new mail is queued
// and claimed when a worker frees up; nothing is lost or sent twice.
func TestHandoffWhenBusyQueues(t *testing.T) {
	release := make(chan struct{})
	var sent atomic.Int64
	blocking := atomic.Bool{}
	c, st := handoffRig(t, 1, func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
		if blocking.Load() {
			<-release
		}
		sent.Add(1)
		return answer(nil)(ctx, e)
	})
	waitDrained(t, c, st)
	sent.Store(0)
	blocking.Store(true)
	var ids []int64
	for range 3 {
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
		t.Errorf("claims returned %d messages, want the 2 that found the worker busy", n)
	}
	if n := sent.Load(); n != 3 {
		t.Errorf("%d sends for 3 messages", n)
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
