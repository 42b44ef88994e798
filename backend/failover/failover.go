package failover

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/internal/chain"
	"github.com/outboxmail/outbox/internal/params"
)

// DefaultCooldown is how long a failing child is skipped.
const DefaultCooldown = 60 * time.Second

// Config configures a failover.
type Config struct {
	// Children are tried in order. At least one is required. [the
	// backends in parentheses]
	Children []outbox.Child
	// Cooldown is how long a failing child is skipped (default
	// DefaultCooldown). [cooldown]
	Cooldown time.Duration
	// Now is the clock of cool-downs (default time.Now).
	Now func() time.Time
}

// Backend sends each message through the first child that takes it. It
// is safe for concurrent use.
type Backend struct {
	children []outbox.Child
	cool     *chain.Cooldown
	closed   atomic.Bool
}

var _ outbox.Combined = (*Backend)(nil)

// New returns a failover over cfg.Children. It connects to nothing.
func New(cfg Config) (*Backend, error) {
	if len(cfg.Children) == 0 {
		return nil, errors.New("failover: no backend to send to")
	}
	for i, c := range cfg.Children {
		if c.Backend == nil {
			return nil, fmt.Errorf("failover: child %d is nil", i)
		}
	}
	if cfg.Cooldown < 0 {
		return nil, errors.New("failover: cooldown must not be negative")
	}
	if cfg.Cooldown == 0 {
		cfg.Cooldown = DefaultCooldown
	}
	return &Backend{children: cfg.Children, cool: chain.NewCooldown(len(cfg.Children), cfg.Cooldown, cfg.Now)}, nil
}

// FromQuery returns a failover of children configured by the query of its
// expression: cooldown=60s. An unknown or repeated parameter, or a bad
// value, is an error naming it.
func FromQuery(children []outbox.Child, q url.Values) (*Backend, error) {
	cfg := Config{Children: children}
	ps, err := params.Single(q)
	if err != nil {
		return nil, err
	}
	for name, v := range ps {
		switch name {
		case "cooldown":
			d, err := chain.ParseCooldown(v)
			if err != nil {
				return nil, err
			}
			cfg.Cooldown = d
		default:
			return nil, fmt.Errorf("unknown parameter %q (want cooldown)", name)
		}
	}
	return New(cfg)
}

// HasLegs reports true: each child is a leg.
func (b *Backend) HasLegs() bool { return true }

// Send tries the children in order, those cooling down last, until every
// recipient is settled or the children are exhausted.
func (b *Backend) Send(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
	if b.closed.Load() {
		return nil, errors.New("failover: closed")
	}
	return chain.Send(ctx, b.children, b.cool.Order(0), b.cool, e), nil
}

// Cooling reports whether child i is cooling down.
func (b *Backend) Cooling(i int) bool { return b.cool.Cooling(i) }

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
