package backend_test

import (
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend"
	"github.com/outboxmail/outbox/backend/limit"
	"github.com/outboxmail/outbox/backend/memory"
	"github.com/outboxmail/outbox/backendtest"
)

// TestSetSaturated: the set names the backends whose limits take no
// message now, by the names messages store ("" and "default" for the
// default backend), with the earliest time one frees up.
func TestSetSaturated(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	limits := map[string]limit.Config{
		"default": {Rates: []limit.Rate{{N: 1, Per: time.Second}}, Burst: 1},
		"bulk":    {Rates: []limit.Rate{{N: 10, Per: time.Second}}, Burst: 1},
	}
	set, err := backend.NewSet(backend.SetConfig{
		Named: map[string]string{"default": "memory:", "bulk": "memory:", "other": "memory:"},
		Schemes: backend.Schemes{"memory": func(*url.URL) (outbox.Backend, error) {
			return memory.New(memory.Config{}), nil
		}},
		Wrap: func(name string, b outbox.Backend) (outbox.Backend, error) {
			lc := limits[name]
			lc.Now = func() time.Time { return now }
			return limit.New(b, lc)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	if names, _ := set.Saturated(); len(names) != 0 {
		t.Fatalf("saturated before any message: %v", names)
	}
	for _, name := range []string{"", "bulk"} {
		b, err := set.Backend(name)
		if err != nil {
			t.Fatal(err)
		}
		done, _, ok := b.(outbox.Limiter).Reserve(backendtest.Envelope(1, "a@example.org"))
		if !ok {
			t.Fatalf("backend %q refused its first message", name)
		}
		done()
	}
	names, until := set.Saturated()
	if want := []string{"bulk", "", "default"}; !slices.Equal(names, want) {
		t.Errorf("saturated %q, want %q", names, want)
	}
	if !until.Equal(now.Add(100 * time.Millisecond)) {
		t.Errorf("until +%s, want bulk's next token in 100ms", until.Sub(now))
	}
}
