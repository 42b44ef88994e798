package roundrobin

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/internal/chain"
	"github.com/outboxmail/outbox/internal/params"
)

// DefaultCooldown is how long a failing child is skipped.
const DefaultCooldown = 60 * time.Second

// Config configures a roundrobin.
type Config struct {
	// Children share the messages. At least one is required. [the
	// backends in parentheses]
	Children []outbox.Child
	// Weights are the children's shares, one positive number per child
	// (default 1 each). [weights=3,1]
	Weights []int
	// Cooldown is how long a failing child is skipped (default
	// DefaultCooldown). [cooldown]
	Cooldown time.Duration
	// Now is the clock of cool-downs (default time.Now).
	Now func() time.Time
}

// Backend spreads messages across its children. It is safe for
// concurrent use.
type Backend struct {
	children []outbox.Child
	weights  []int
	cool     *chain.Cooldown
	closed   atomic.Bool

	mu      sync.Mutex
	current []int // smooth weighted round-robin state
}

var _ outbox.Combined = (*Backend)(nil)

// New returns a roundrobin over cfg.Children. It connects to nothing.
func New(cfg Config) (*Backend, error) {
	n := len(cfg.Children)
	if n == 0 {
		return nil, errors.New("roundrobin: no backend to send to")
	}
	for i, c := range cfg.Children {
		if c.Backend == nil {
			return nil, fmt.Errorf("roundrobin: child %d is nil", i)
		}
	}
	w := cfg.Weights
	if w == nil {
		w = make([]int, n)
		for i := range w {
			w[i] = 1
		}
	}
	if len(w) != n {
		return nil, fmt.Errorf("roundrobin: %d weights for %d backends", len(w), n)
	}
	for _, x := range w {
		if x < 1 {
			return nil, fmt.Errorf("roundrobin: weight %d is not a positive number", x)
		}
	}
	if cfg.Cooldown < 0 {
		return nil, errors.New("roundrobin: cooldown must not be negative")
	}
	if cfg.Cooldown == 0 {
		cfg.Cooldown = DefaultCooldown
	}
	return &Backend{
		children: cfg.Children, weights: w,
		cool: chain.NewCooldown(n, cfg.Cooldown, cfg.Now), current: make([]int, n),
	}, nil
}

// FromQuery returns a roundrobin of children configured by the query of
// its expression: weights=3,1 and cooldown=60s. An unknown or repeated
// parameter, or a bad value, is an error naming it.
func FromQuery(children []outbox.Child, q url.Values) (*Backend, error) {
	cfg := Config{Children: children}
	ps, err := params.Single(q)
	if err != nil {
		return nil, err
	}
	for name, v := range ps {
		switch name {
		case "weights":
			for _, f := range strings.Split(v, ",") {
				x, err := strconv.Atoi(strings.TrimSpace(f))
				if err != nil || x < 1 {
					return nil, fmt.Errorf("parameter weights: %q is not a list of positive numbers such as 3,1", v)
				}
				cfg.Weights = append(cfg.Weights, x)
			}
			if len(cfg.Weights) != len(children) {
				return nil, fmt.Errorf("parameter weights: %d weights for %d backends", len(cfg.Weights), len(children))
			}
		case "cooldown":
			d, err := chain.ParseCooldown(v)
			if err != nil {
				return nil, err
			}
			cfg.Cooldown = d
		default:
			return nil, fmt.Errorf("unknown parameter %q (want weights or cooldown)", name)
		}
	}
	return New(cfg)
}

// HasLegs reports true: each child is a leg.
func (b *Backend) HasLegs() bool { return true }

// Send gives e to the next child in the rotation that is not cooling
// down; recipients it answers temporarily go on to the children after it.
func (b *Backend) Send(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
	if b.closed.Load() {
		return nil, errors.New("roundrobin: closed")
	}
	return chain.Send(ctx, b.children, b.cool.Order(b.next()), b.cool, e), nil
}

// next picks the child whose turn it is among those not cooling down
// (among all when every one is), by smooth weighted round-robin.
func (b *Backend) next() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	pick, total := -1, 0
	for i := range b.children {
		if b.cool.Cooling(i) {
			continue
		}
		b.current[i] += b.weights[i]
		total += b.weights[i]
		if pick < 0 || b.current[i] > b.current[pick] {
			pick = i
		}
	}
	if pick < 0 {
		return 0
	}
	b.current[pick] -= total
	return pick
}

// Close closes every child. It is idempotent.
func (b *Backend) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	var errs []error
	for _, c := range b.children {
		errs = append(errs, c.Backend.Close())
	}
	return errors.Join(errs...)
}
