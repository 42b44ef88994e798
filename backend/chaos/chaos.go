package chaos

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/internal/params"
)

// Config configures a chaos wrapper.
type Config struct {
	// Child is the backend wrapped. Required. [the backend in parentheses]
	Child outbox.Backend
	// Temp, Perm and DropAfterData are probabilities in [0,1] of a
	// temporary failure, a permanent failure, and a connection cut after
	// the data was sent. Temp+Perm must not exceed 1. [temp, perm,
	// drop_after_data]
	Temp, Perm, DropAfterData float64
	// Latency delays every message; Jitter adds a random delay up to it.
	// [latency, jitter]
	Latency, Jitter time.Duration
	// Rand returns numbers in [0,1); nil draws from a source seeded at
	// random. It is called under a lock. [seed=N uses a PCG seeded with N]
	Rand func() float64
}

// Backend wraps a backend and injects failures. It is safe for concurrent
// use.
type Backend struct {
	cfg    Config
	mu     sync.Mutex // guards cfg.Rand
	closed atomic.Bool
}

var _ outbox.Combined = (*Backend)(nil)

// New returns a chaos wrapper of cfg.Child.
func New(cfg Config) (*Backend, error) {
	if cfg.Child == nil {
		return nil, errors.New("chaos: no backend to wrap")
	}
	for name, p := range map[string]float64{"temp": cfg.Temp, "perm": cfg.Perm, "drop_after_data": cfg.DropAfterData} {
		if p < 0 || p > 1 {
			return nil, fmt.Errorf("chaos: %s=%g is not a probability between 0 and 1", name, p)
		}
	}
	if cfg.Temp+cfg.Perm > 1 {
		return nil, fmt.Errorf("chaos: temp+perm=%g exceeds 1", cfg.Temp+cfg.Perm)
	}
	if cfg.Latency < 0 || cfg.Jitter < 0 {
		return nil, errors.New("chaos: latency and jitter must not be negative")
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Float64
	}
	return &Backend{cfg: cfg}, nil
}

// FromQuery returns a chaos wrapper of the one backend in children,
// configured by the query of its expression: temp, perm, drop_after_data
// (probabilities), latency, jitter (durations) and seed. An unknown or
// repeated parameter, or a bad value, is an error naming it.
func FromQuery(children []outbox.Child, q url.Values) (*Backend, error) {
	if len(children) != 1 {
		return nil, fmt.Errorf("chaos wraps exactly one backend, got %d", len(children))
	}
	cfg := Config{Child: children[0].Backend}
	ps, err := params.Single(q)
	if err != nil {
		return nil, err
	}
	for name, v := range ps {
		switch name {
		case "temp":
			cfg.Temp, err = probability(name, v)
		case "perm":
			cfg.Perm, err = probability(name, v)
		case "drop_after_data":
			cfg.DropAfterData, err = probability(name, v)
		case "latency":
			cfg.Latency, err = duration(name, v)
		case "jitter":
			cfg.Jitter, err = duration(name, v)
		case "seed":
			n, perr := strconv.ParseUint(v, 10, 64)
			if perr != nil {
				return nil, fmt.Errorf("parameter seed: %q is not a number", v)
			}
			cfg.Rand = rand.New(rand.NewPCG(n, n)).Float64
		default:
			return nil, fmt.Errorf("unknown parameter %q (want temp, perm, drop_after_data, latency, jitter or seed)", name)
		}
		if err != nil {
			return nil, err
		}
	}
	return New(cfg)
}

func probability(name, v string) (float64, error) {
	p, err := strconv.ParseFloat(v, 64)
	if err != nil || p < 0 || p > 1 {
		return 0, fmt.Errorf("parameter %s: %q is not a probability between 0 and 1", name, v)
	}
	return p, nil
}

func duration(name, v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("parameter %s: %q is not a duration such as 200ms", name, v)
	}
	return d, nil
}

// HasLegs reports whether the wrapped backend has legs: chaos adds none.
func (b *Backend) HasLegs() bool {
	c, ok := b.cfg.Child.(outbox.Combined)
	return ok && c.HasLegs()
}

// The injected failures' replies.
var (
	tempReply = outbox.Reply{Code: 451, Enhanced: "4.3.0", Text: "chaos: injected temporary failure"}
	permReply = outbox.Reply{Code: 554, Enhanced: "5.0.0", Text: "chaos: injected permanent failure"}
)

// ErrCutAfterData is returned after the wrapped backend took a message,
// as though the connection broke before the reply to DATA: it wraps
// outbox.ErrMayHaveAccepted, as the smtp backend's error does.
var ErrCutAfterData = fmt.Errorf("chaos: injected connection cut after DATA (%w)", outbox.ErrMayHaveAccepted)

// Send waits the latency, then fails or passes e to the wrapped backend
// as the draws say.
func (b *Backend) Send(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
	if b.closed.Load() {
		return nil, errors.New("chaos: closed")
	}
	if d := b.cfg.Latency + time.Duration(b.draw()*float64(b.cfg.Jitter)); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		}
	}
	switch x := b.draw(); {
	case x < b.cfg.Temp:
		return nil, &outbox.SendError{Reply: tempReply}
	case x < b.cfg.Temp+b.cfg.Perm:
		return nil, &outbox.SendError{Reply: permReply}
	}
	res, err := b.cfg.Child.Send(ctx, e)
	if err == nil && b.cfg.DropAfterData > 0 && b.draw() < b.cfg.DropAfterData {
		return nil, ErrCutAfterData
	}
	return res, err
}

// draw returns the next random number.
func (b *Backend) draw() float64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.cfg.Rand()
}

// Close closes the wrapped backend. It is idempotent.
func (b *Backend) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	return b.cfg.Child.Close()
}
