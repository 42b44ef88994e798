package outbox

import (
	"log/slog"
	"testing"
	"time"
)

// TestLineWhileAClaimHoldsWorkers: a worker held by a claim under way is
// not free for a handed-off message, which waits in line; the claim's
// unused workers then go to the line, oldest first, never more deliveries
// running than workers.
func TestLineWhileAClaimHoldsWorkers(t *testing.T) {
	e := &Engine{cfg: EngineConfig{Workers: 2, Lease: 5 * time.Minute, Timeout: time.Minute, Now: time.Now},
		log: slog.New(slog.DiscardHandler), slot: make(chan struct{}, 1), started: true, drained: true}

	now := time.Now()
	held := e.hold()
	if held != 2 {
		t.Fatalf("hold took %d workers, want 2", held)
	}
	recs := []*Record{{ID: 1, NextAttemptAt: now}, {ID: 2, NextAttemptAt: now}, {ID: 3, NextAttemptAt: now}}
	if n := e.Reserve(recs, now); n != 2 {
		t.Fatalf("Reserve took %d with both workers held and a line of 2, want 2", n)
	}
	e.Deliver(recs[0])
	e.Deliver(recs[1])
	if e.active != 0 || len(e.ready) != 2 {
		t.Fatalf("with both workers held by a claim: %d running, %d in line; want 0 and 2", e.active, len(e.ready))
	}

	// The claim got one message: it takes one worker, the other goes to
	// the oldest in line.
	claimed := &Record{ID: 9, LeaseUntil: now.Add(5 * time.Minute)}
	started := e.unhold(held, []*Record{claimed}, true)
	if len(started) != 1 || started[0].ID != 1 {
		t.Fatalf("after the claim, the line started %v, want message 1", ids(started))
	}
	if e.active != 2 || len(e.ready) != 1 || e.inflight != 3 {
		t.Errorf("after the claim: %d running, %d in line, %d in flight; want 2, 1, 3", e.active, len(e.ready), e.inflight)
	}
}

func ids(recs []*Record) []int64 {
	out := make([]int64, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}
