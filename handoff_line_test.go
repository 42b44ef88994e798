package outbox

import (
	"log/slog"
	"slices"
	"testing"
	"time"
)

// TestLineWhileAClaimHoldsWorkers: a worker held by a claim under way is
// not free for a handed-off message, which waits in line; the claim's
// unused workers then go to the line, oldest first, never more deliveries
// running than workers.
func TestLineWhileAClaimHoldsWorkers(t *testing.T) {
	e := testLineEngine(4)
	now := time.Now()
	room := e.hold()
	if room != 6 || e.held != 4 {
		t.Fatalf("hold: room for %d, %d workers held; want 6 (4 workers and a line of 2) and 4", room, e.held)
	}
	recs := []*Record{{ID: 1, NextAttemptAt: now}, {ID: 2, NextAttemptAt: now}, {ID: 3, NextAttemptAt: now}}
	if n := e.Reserve(recs, now); n != 2 {
		t.Fatalf("Reserve took %d during the claim, want the 2 places left of twice the workers", n)
	}
	e.Deliver(recs[0])
	e.Deliver(recs[1])
	if e.active != 0 || len(e.ready) != 2 {
		t.Fatalf("with every worker held by a claim: %d running, %d in line; want 0 and 2", e.active, len(e.ready))
	}

	// The claim got one message: it takes one worker, the line the others.
	claimed := &Record{ID: 9, LeaseUntil: now.Add(5 * time.Minute)}
	started := e.unhold(room, []*Record{claimed}, true)
	if got := ids(started); !slices.Equal(got, []int64{9, 1, 2}) {
		t.Fatalf("after the claim, started %v, want the claimed message, then the line: [9 1 2]", got)
	}
	if e.active != 3 || len(e.ready) != 0 || e.inflight != 3 {
		t.Errorf("after the claim: %d running, %d in line, %d in flight; want 3, 0, 3", e.active, len(e.ready), e.inflight)
	}
}

// TestClaimFillsTheLine: a claim takes more messages than there are free
// workers; those beyond wait in line and start as workers free up.
func TestClaimFillsTheLine(t *testing.T) {
	e := testLineEngine(2)
	now := time.Now()
	room := e.hold()
	if room != 3 {
		t.Fatalf("hold: room for %d, want 3 (2 workers and a line of 1)", room)
	}
	recs := []*Record{{ID: 1, LeaseUntil: now.Add(5 * time.Minute)}, {ID: 2, LeaseUntil: now.Add(5 * time.Minute)},
		{ID: 3, LeaseUntil: now.Add(5 * time.Minute)}}
	started := e.unhold(room, recs, false)
	if got := ids(started); !slices.Equal(got, []int64{1, 2}) || len(e.ready) != 1 || e.inflight != 3 {
		t.Fatalf("after a claim of 3 with 2 workers: started %v, %d in line, %d in flight; want [1 2], 1, 3",
			got, len(e.ready), e.inflight)
	}
	if n := e.room(); n != 0 {
		t.Errorf("a claim has room for %d with the line full, want 0", n)
	}
	e.mu.Lock()
	e.inflight--
	e.active--
	next := e.takeReady()
	e.mu.Unlock()
	if got := ids(next); !slices.Equal(got, []int64{3}) {
		t.Errorf("a worker freed up and took %v from the line, want [3]", got)
	}
}

func testLineEngine(workers int) *Engine {
	return &Engine{cfg: EngineConfig{Workers: workers, Lease: 5 * time.Minute, Timeout: time.Minute, Now: time.Now},
		log: slog.New(slog.DiscardHandler), slot: make(chan struct{}, 1), started: true, drained: true}
}

func ids(recs []*Record) []int64 {
	out := make([]int64, len(recs))
	for i, r := range recs {
		out[i] = r.ID
	}
	return out
}
