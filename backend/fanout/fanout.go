package fanout

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/internal/params"
)

// Policy says which children's answers make a recipient's overall answer.
type Policy string

// The policies of the require parameter.
const (
	// RequirePrimary: the primary's (first child's) answer is the
	// recipient's. The default.
	RequirePrimary Policy = "primary"
	// RequireAll: accepted once every child accepted; refused for good as
	// soon as one child refused for good.
	RequireAll Policy = "all"
	// RequireAny: accepted as soon as one child accepted; refused for good
	// when every child refused for good.
	RequireAny Policy = "any"
)

// Config configures a fanout.
type Config struct {
	// Children are the backends every message goes to; the first is the
	// primary. At least one is required. [the backends in parentheses]
	Children []outbox.Child
	// Require is the policy (default RequirePrimary). [require]
	Require Policy
}

// Backend sends every message through all its children. It is safe for
// concurrent use.
type Backend struct {
	children []outbox.Child
	require  Policy
	closed   atomic.Bool
}

var (
	_ outbox.Combined = (*Backend)(nil)
	_ outbox.Limiter  = (*Backend)(nil)
)

// New returns a fanout of cfg.Children. It connects to nothing.
func New(cfg Config) (*Backend, error) {
	if len(cfg.Children) == 0 {
		return nil, errors.New("fanout: no backend to send to")
	}
	for i, c := range cfg.Children {
		if c.Backend == nil {
			return nil, fmt.Errorf("fanout: child %d is nil", i)
		}
	}
	switch cfg.Require {
	case "":
		cfg.Require = RequirePrimary
	case RequirePrimary, RequireAll, RequireAny:
	default:
		return nil, fmt.Errorf("fanout: require=%q is not primary, all or any", cfg.Require)
	}
	return &Backend{children: cfg.Children, require: cfg.Require}, nil
}

// FromQuery returns a fanout of children configured by the query of its
// expression: require=primary|all|any. An unknown or repeated parameter is
// an error naming it.
func FromQuery(children []outbox.Child, q url.Values) (*Backend, error) {
	var cfg Config
	cfg.Children = children
	ps, err := params.Single(q)
	if err != nil {
		return nil, err
	}
	for name, v := range ps {
		switch name {
		case "require":
			cfg.Require = Policy(v)
			if cfg.Require == "" {
				return nil, errors.New("parameter require: empty (want primary, all or any)")
			}
		default:
			return nil, fmt.Errorf("unknown parameter %q (want require)", name)
		}
	}
	return New(cfg)
}

// HasLegs reports true: each child is a leg.
func (b *Backend) HasLegs() bool { return true }

// Send gives e to every child concurrently, each under ctx, and waits for
// all of them. It returns the overall answer per recipient as the policy
// makes it, then every child's answer not settled before (leg "0", "1", …)
// and its own legs'. Children and recipients settled by an earlier
// attempt are skipped.
func (b *Backend) Send(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
	if b.closed.Load() {
		return nil, errors.New("fanout: closed")
	}
	type answer struct{ overall, legs []outbox.RecipientResult }
	answers := make([]answer, len(b.children))
	var wg sync.WaitGroup
	for i, c := range b.children {
		wg.Go(func() {
			answers[i].overall, answers[i].legs = outbox.SendLeg(ctx, c, e, leg(i))
		})
	}
	wg.Wait()

	out := make([]outbox.RecipientResult, len(e.To), len(e.To)*(len(b.children)+1))
	for j := range e.To {
		col := make([]outbox.RecipientResult, len(answers))
		for i := range answers {
			col[i] = answers[i].overall[j]
		}
		r := b.combine(col)
		r.Leg = ""
		out[j] = r
	}
	for i, a := range answers {
		for j, addr := range e.To {
			if _, settled := e.Settled.State(leg(i), addr); !settled {
				out = append(out, a.overall[j])
			}
		}
		out = append(out, a.legs...)
	}
	return out, nil
}

// combine makes a recipient's overall answer from the children's, in
// order.
func (b *Backend) combine(col []outbox.RecipientResult) outbox.RecipientResult {
	first := func(ok func(outbox.Class) bool) (outbox.RecipientResult, bool) {
		for _, r := range col {
			if ok(r.Class) {
				return r, true
			}
		}
		return outbox.RecipientResult{}, false
	}
	accepted := func(c outbox.Class) bool { return c == outbox.ClassAccepted }
	permanent := func(c outbox.Class) bool { return c == outbox.ClassPermanent }
	pending := func(c outbox.Class) bool { return c != outbox.ClassAccepted && c != outbox.ClassPermanent }
	switch b.require {
	case RequireAll:
		if r, ok := first(permanent); ok {
			return r
		}
		if r, ok := first(pending); ok {
			if _, temp := first(func(c outbox.Class) bool { return pending(c) && c != outbox.ClassThrottled }); temp {
				r.Class = outbox.ClassTemporary
			}
			return r
		}
		return col[0]
	case RequireAny:
		if r, ok := first(accepted); ok {
			return r
		}
		if r, ok := first(pending); ok {
			return r
		}
		return col[0]
	}
	return col[0]
}

// Reserve reserves capacity on every child with limits (see
// outbox.Limiter) that the message still goes to: the fanout sends to all
// of them, so all must have room. When one has none, the others'
// reservations are released and the longest wait returned.
func (b *Backend) Reserve(e *outbox.Envelope) (func(), time.Duration, bool) {
	var dones []func()
	var wait time.Duration
	ok := true
	for i, c := range b.children {
		l, isLimiter := c.Backend.(outbox.Limiter)
		if !isLimiter || !goesTo(c, e, leg(i)) {
			continue
		}
		sub := *e
		sub.Settled = e.Settled.Under(leg(i))
		done, w, got := l.Reserve(&sub)
		if !got {
			ok = false
			wait = max(wait, w)
			continue
		}
		if done != nil {
			dones = append(dones, done)
		}
	}
	all := func() {
		for _, d := range dones {
			d()
		}
	}
	if !ok {
		all()
		return nil, wait, false
	}
	return all, 0, true
}

// goesTo reports whether child c at leg would be sent e: a combined child
// always decides for itself; a plain one when a recipient is not settled
// on its leg.
func goesTo(c outbox.Child, e *outbox.Envelope, leg string) bool {
	if cb, ok := c.Backend.(outbox.Combined); ok && cb.HasLegs() {
		return true
	}
	for _, addr := range e.To {
		if _, settled := e.Settled.State(leg, addr); !settled {
			return true
		}
	}
	return false
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

// leg is the leg path of child i.
func leg(i int) string { return strconv.Itoa(i) }
