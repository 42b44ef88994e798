package backend_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend/limit"
)

// TestRateLimit: 100 messages through a backend limited to 20/s with a
// burst of 5 take at least (100-5)/20 = 4.75 s to deliver (checked as a
// lower bound of 4.5 s only: a slow machine may take longer). None fails;
// each is delivered in one attempt, and waiting for its turn leaves no
// trace in its attempt log.
func TestRateLimit(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about 5 s")
	}
	r := newRigClock(t, "memory:", nil, func(name string, b outbox.Backend) (outbox.Backend, error) {
		return nilSafe(limit.New(b, limit.Config{Name: name, Rates: []limit.Rate{{N: 20, Per: time.Second}}, Burst: 5}))
	}, true)
	start := time.Now()
	var ids []int64
	for i := range 100 {
		ids = append(ids, r.send(fmt.Sprintf("r%d@example.org", i)))
	}
	for _, id := range ids {
		rec := r.wait(id, "sent", func(rec *outbox.Record) bool { return !rec.Status.Pending() })
		if rec.Status != outbox.StatusSent || rec.Attempts != 1 || len(rec.AttemptLog) != 1 {
			t.Errorf("message %d: %s, %d attempts, %d logged; want sent in one attempt", id, rec.Status, rec.Attempts, len(rec.AttemptLog))
		}
	}
	took := time.Since(start)
	if took < 4500*time.Millisecond {
		t.Errorf("100 messages at 20/s (burst 5) took %s, want at least 4.5s", took)
	}
	if n := r.memory.Len(); n != 100 {
		t.Errorf("delivered %d messages, want 100", n)
	}
	t.Logf("100 messages at 20/s took %s", took)
}
