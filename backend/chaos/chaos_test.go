package chaos_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend/chaos"
	"github.com/outboxmail/outbox/backend/memory"
	"github.com/outboxmail/outbox/backendtest"
)

func contains(data []byte, id string) bool {
	return bytes.Contains(data, []byte("Message-ID: "+id+"\r\n"))
}

// script returns a random source that yields xs in turn.
func script(xs ...float64) func() float64 {
	return func() float64 {
		x := xs[0]
		xs = xs[1:]
		return x
	}
}

func TestInjections(t *testing.T) {
	cases := []struct {
		name      string
		draws     []float64 // jitter, outcome, (drop)
		wantClass outbox.Class
		wantCode  int
		delivered int
		cut       bool
	}{
		{"temporary", []float64{0, 0.1}, outbox.ClassTemporary, 451, 0, false},
		{"permanent", []float64{0, 0.25}, outbox.ClassPermanent, 554, 0, false},
		{"delivered", []float64{0, 0.5, 0.9}, outbox.ClassAccepted, 250, 1, false},
		{"cut after data", []float64{0, 0.5, 0.05}, outbox.ClassTemporary, 0, 1, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.New(memory.Config{})
			b, err := chaos.New(chaos.Config{Child: mem, Temp: 0.2, Perm: 0.1, DropAfterData: 0.1, Rand: script(tc.draws...)})
			if err != nil {
				t.Fatal(err)
			}
			res, err := b.Send(context.Background(), backendtest.Envelope(1, "a@example.org"))
			var class outbox.Class
			var code int
			if err != nil {
				c, r := outbox.ErrorClass(err)
				class, code = c, r.Code
			} else {
				class, code = res[0].Class, res[0].Reply.Code
			}
			if class != tc.wantClass || code != tc.wantCode {
				t.Errorf("Send = %v, %v: class %s code %d, want %s %d", res, err, class, code, tc.wantClass, tc.wantCode)
			}
			if mem.Len() != tc.delivered {
				t.Errorf("the wrapped backend got %d messages, want %d", mem.Len(), tc.delivered)
			}
			if tc.cut != errors.Is(err, chaos.ErrCutAfterData) {
				t.Errorf("error %v: want a cut after DATA: %v", err, tc.cut)
			}
		})
	}
}

func TestLatency(t *testing.T) {
	b, err := chaos.New(chaos.Config{Child: memory.New(memory.Config{}), Latency: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := b.Send(context.Background(), backendtest.Envelope(1, "a@example.org")); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Errorf("Send took %s, want at least the 50ms latency", d)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, err := b.Send(ctx, backendtest.Envelope(2, "a@example.org")); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Send under a shorter deadline = %v, want DeadlineExceeded", err)
	}
}

func TestBadConfig(t *testing.T) {
	mem := memory.New(memory.Config{})
	for _, cfg := range []chaos.Config{
		{}, {Child: mem, Temp: 1.5}, {Child: mem, Temp: 0.6, Perm: 0.6}, {Child: mem, Latency: -1},
	} {
		if _, err := chaos.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}
