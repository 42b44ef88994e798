package outbox_test

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/sqlite"
)

// claimLog is a Store that records the ids every claim returned, and
// how many claims were made.
type claimLog struct {
	outbox.Store
	claims  atomic.Int64
	mu      sync.Mutex
	claimed []int64
}

func (c *claimLog) Claim(ctx context.Context, req outbox.ClaimRequest) ([]*outbox.Record, error) {
	c.claims.Add(1)
	recs, err := c.Store.Claim(ctx, req)
	c.mu.Lock()
	for _, r := range recs {
		c.claimed = append(c.claimed, r.ID)
	}
	c.mu.Unlock()
	return recs, err
}

func (c *claimLog) wasClaimed(id int64) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Contains(c.claimed, id)
}

// TestEngineSkipsSaturatedBackend: while backend "slow" is saturated, mail
// for "fast" and the default backend is claimed and delivered, and slow's
// waits queued, never claimed, without an attempt, the dispatcher not
// spinning over it; once slow frees up, its mail goes without a Notify.
func TestEngineSkipsSaturatedBackend(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	store := &claimLog{Store: st}
	var saturated atomic.Bool
	saturated.Store(true)
	var sent sync.Map // backend name → count
	backend := func(name string) outbox.Backend {
		return outbox.BackendFunc(func(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
			n, _ := sent.LoadOrStore(name, new(atomic.Int64))
			n.(*atomic.Int64).Add(1)
			return outbox.Accepted(e, outbox.Reply{Code: 250}), nil
		})
	}
	eng, err := outbox.NewEngine(outbox.EngineConfig{
		Store:    store,
		Backends: func(name string) (outbox.Backend, error) { return backend(name), nil },
		Poll:     time.Hour, // only Notify, due times and saturation wake the dispatcher
		Saturated: func() ([]string, time.Time) {
			if saturated.Load() {
				return []string{"slow"}, time.Now().Add(50 * time.Millisecond)
			}
			return nil, time.Time{}
		},
		Retention: -1,
		Logger:    slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	client, err := outbox.NewClient(outbox.ClientConfig{Store: store, Notify: eng.Notify,
		KnownBackend: func(string) bool { return true }})
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		eng.Stop(ctx)
		st.Close()
	})
	enqueue := func(backend string) int64 {
		m := msg("user@example.org")
		m.Backend = backend
		rc, err := client.Enqueue(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		return rc.ID
	}
	var slow, others []int64
	for range 3 {
		slow = append(slow, enqueue("slow"))
		others = append(others, enqueue("fast"), enqueue(""))
	}
	waitFor := func(ids []int64, want outbox.Status) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for _, id := range ids {
			for {
				rec, err := client.Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if rec.Status == want {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("message %d (backend %q): status %s, want %s", id, rec.Backend, rec.Status, want)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
	waitFor(others, outbox.StatusSent)

	before := store.claims.Load()
	time.Sleep(300 * time.Millisecond)
	if n := store.claims.Load() - before; n > 30 {
		t.Errorf("%d claims in 300ms while only saturated mail was due: the dispatcher spins", n)
	}
	for _, id := range slow {
		rec, err := client.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Status != outbox.StatusQueued || rec.Attempts != 0 || store.wasClaimed(id) {
			t.Errorf("slow message %d: %s, %d attempts, claimed %v; want queued, none, never claimed",
				id, rec.Status, rec.Attempts, store.wasClaimed(id))
		}
	}
	if n, ok := sent.Load("slow"); ok {
		t.Errorf("backend slow was sent %d messages while saturated", n.(*atomic.Int64).Load())
	}

	saturated.Store(false) // no Notify: the dispatcher looks again by itself
	waitFor(slow, outbox.StatusSent)
	for _, id := range slow {
		if rec, _ := client.Get(ctx, id); rec.Attempts != 1 {
			t.Errorf("slow message %d sent with %d attempts, want 1", id, rec.Attempts)
		}
	}
}
