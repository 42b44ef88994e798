package limit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/outboxmail/outbox"
)

// The defaults of Config's zero fields.
const (
	DefaultRecovery = 30 * time.Second
	// holdFor is how long a turn is kept for a message that does not come
	// back for it (delivered elsewhere, cancelled).
	holdFor = 10 * time.Minute
	// early is how much before its turn a message may be sent: the
	// engine's and the wrapper's clocks are read a moment apart.
	early = 10 * time.Millisecond
	// minFactor bounds how far throttling slows a backend down.
	minFactor = 1.0 / 64
	// minAdaptiveRate bounds, in messages per second, how far throttling
	// slows a backend that has no rate of its own: measured on a quiet
	// backend, half its recent rate would be one message every few
	// seconds, for minutes.
	minAdaptiveRate = 1.0
)

// Config configures the limits of one backend. The zero value limits
// nothing (throttling answers still slow the backend down).
type Config struct {
	// Name names the backend in messages, e.g. its name in the config.
	Name string
	// Rates are the rate limits, all applied. [rate = ["20/s", "10000/d"]]
	Rates []Rate
	// Burst caps how many messages may go at once after a quiet spell,
	// for every rate (default: each rate's N). [burst]
	Burst int
	// MaxConcurrent is the most deliveries at once; 0 is no limit.
	// [max_concurrent]
	MaxConcurrent int
	// MaxPerDomain is the most deliveries at once to one recipient domain;
	// 0 is no limit. [max_per_domain]
	MaxPerDomain int
	// Recovery is the period after which a throttled backend's rate grows
	// by a quarter (default DefaultRecovery). [recovery]
	Recovery time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Backend is a backend with limits. It is safe for concurrent use.
type Backend struct {
	child  outbox.Backend
	cfg    Config
	closed atomic.Bool

	mu        sync.Mutex
	limiters  []*rate.Limiter // one per configured rate, then the adaptive one
	base      []float64       // their unthrottled rates, per second
	factor    float64         // 1, or less while throttled
	changed   time.Time       // when factor last changed
	inflight  int
	domains   map[string]int
	reserved  map[int64]int // messages the engine reserved for, by queue id
	held      map[int64]hold
	recent    []time.Time // send times in the last 10 s, to measure the rate
	busy      time.Duration
	lastSweep time.Time
}

// hold is a turn kept for a message sent back to wait.
type hold struct{ at, expires time.Time }

var _ outbox.Limiter = (*Backend)(nil)

// New wraps b with the limits of cfg.
func New(b outbox.Backend, cfg Config) (*Backend, error) {
	if b == nil {
		return nil, errors.New("limit: no backend to wrap")
	}
	if cfg.Burst < 0 || cfg.MaxConcurrent < 0 || cfg.MaxPerDomain < 0 || cfg.Recovery < 0 {
		return nil, errors.New("limit: burst, max_concurrent, max_per_domain and recovery must not be negative")
	}
	if cfg.Recovery == 0 {
		cfg.Recovery = DefaultRecovery
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	l := &Backend{child: b, cfg: cfg, factor: 1, domains: make(map[string]int),
		reserved: make(map[int64]int), held: make(map[int64]hold), busy: 200 * time.Millisecond}
	now := cfg.Now()
	for _, r := range cfg.Rates {
		if r.N < 1 || r.Per <= 0 {
			return nil, fmt.Errorf("limit: rate %s is not a positive number per period", r)
		}
		burst := r.N
		if cfg.Burst > 0 {
			burst = min(burst, cfg.Burst)
		}
		lim := rate.NewLimiter(rate.Limit(r.perSecond()), burst)
		lim.AllowN(now, 0) // start the bucket full at now on the injected clock
		l.limiters = append(l.limiters, lim)
		l.base = append(l.base, r.perSecond())
	}
	return l, nil
}

// HasLegs reports whether the wrapped backend has legs: limits add none.
func (l *Backend) HasLegs() bool {
	c, ok := l.child.(outbox.Combined)
	return ok && c.HasLegs()
}

// Reserve takes a turn for e now, or says how long until its turn. A
// message told to wait has its turn kept for it (by e.ID); a turn whose
// message has not come back by its time goes to the next message without
// one. When ok, done must be called once the delivery ends.
func (l *Backend) Reserve(e *outbox.Envelope) (done func(), wait time.Duration, ok bool) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recoverLocked(now)
	l.sweepLocked(now)
	if l.cfg.MaxConcurrent > 0 && l.inflight >= l.cfg.MaxConcurrent {
		return nil, l.busy, false
	}
	domains := domainsOf(e.To)
	if l.cfg.MaxPerDomain > 0 {
		for _, d := range domains {
			if l.domains[d] >= l.cfg.MaxPerDomain {
				return nil, l.busy, false
			}
		}
	}
	if h, ok := l.held[e.ID]; ok && e.ID != 0 {
		if now.Before(h.at.Add(-early)) {
			return nil, h.at.Sub(now), false
		}
		delete(l.held, e.ID)
	} else if !l.takeDueTurnLocked(now) {
		if delay := l.takeLocked(now, e.ID != 0); delay > 0 {
			if e.ID != 0 {
				l.held[e.ID] = hold{at: now.Add(delay), expires: now.Add(delay + holdFor)}
			}
			return nil, delay, false
		}
	}
	l.inflight++
	for _, d := range domains {
		l.domains[d]++
	}
	l.reserved[e.ID]++
	var once sync.Once
	start := now
	return func() { once.Do(func() { l.release(e.ID, domains, start) }) }, 0, true
}

// takeLocked takes a token from every rate limiter for now, or for the
// earliest time all have one, and returns how long that is from now. When
// keep is false and it is later than now, the tokens are given back.
func (l *Backend) takeLocked(now time.Time, keep bool) time.Duration {
	var delay time.Duration
	rs := make([]*rate.Reservation, 0, len(l.limiters))
	for _, lim := range l.limiters {
		r := lim.ReserveN(now, 1)
		if !r.OK() {
			continue
		}
		rs = append(rs, r)
		delay = max(delay, r.DelayFrom(now))
	}
	if delay > 0 && !keep {
		for _, r := range rs {
			r.CancelAt(now)
		}
	}
	return delay
}

// release ends a delivery that Reserve let through.
func (l *Backend) release(id int64, domains []string, start time.Time) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	for _, d := range domains {
		if l.domains[d]--; l.domains[d] <= 0 {
			delete(l.domains, d)
		}
	}
	if l.reserved[id]--; l.reserved[id] <= 0 {
		delete(l.reserved, id)
	}
	// The wait told to messages over the concurrency limits: about one
	// delivery's time, smoothed.
	took := now.Sub(start)
	l.busy = min(max((3*l.busy+took)/4, 50*time.Millisecond), 5*time.Second)
	l.recent = append(l.recent, now)
}

// Send delivers e through the wrapped backend. When the engine did not
// reserve a turn for e (the wrapper is inside a combined backend), Send
// takes one itself, and answers throttled when e is over a limit. A
// throttling answer from the upstream slows the backend down.
func (l *Backend) Send(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
	if l.closed.Load() {
		return nil, errors.New("limit: closed")
	}
	l.mu.Lock()
	reserved := l.reserved[e.ID] > 0
	l.mu.Unlock()
	if !reserved {
		done, wait, ok := l.Reserve(e)
		if !ok {
			return nil, &outbox.SendError{Class: outbox.ClassThrottled, Reply: outbox.Reply{
				Text: fmt.Sprintf("%s is over its limit; next turn in %s", l.name(), wait.Round(time.Millisecond))}}
		}
		defer done()
	}
	res, err := l.child.Send(ctx, e)
	if throttled(res, err) {
		l.slowDown(l.cfg.Now())
	}
	return res, err
}

// throttled reports whether an answer asks the sender to slow down.
func throttled(res []outbox.RecipientResult, err error) bool {
	if err != nil {
		c, _ := outbox.ErrorClass(err)
		return c == outbox.ClassThrottled
	}
	for _, r := range res {
		if r.Leg == "" && (r.Class == outbox.ClassThrottled || r.Class == "" && outbox.Classify(r.Reply) == outbox.ClassThrottled) {
			return true
		}
	}
	return false
}

// slowDown halves the backend's rate. A backend with no rate gets one:
// half what it sent in the last ten seconds.
func (l *Backend) slowDown(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.limiters) == 0 {
		l.trimLocked(now)
		sent := float64(len(l.recent)) / 10
		lim := rate.NewLimiter(rate.Limit(max(sent, 1)), 1)
		lim.AllowN(now, 0)
		l.limiters = append(l.limiters, lim)
		l.base = append(l.base, max(sent, 1))
	}
	l.factor = max(l.factor/2, minFactor)
	l.changed = now
	l.applyLocked(now)
}

// recoverLocked grows a throttled rate by a quarter per recovery period
// since the last change, up to the configured rate; the rate a backend
// without one got from throttling goes away once recovered.
func (l *Backend) recoverLocked(now time.Time) {
	if l.factor >= 1 {
		return
	}
	steps := int(now.Sub(l.changed) / l.cfg.Recovery)
	if steps <= 0 {
		return
	}
	l.factor = math.Min(1, l.factor*math.Pow(1.25, float64(steps)))
	l.changed = l.changed.Add(time.Duration(steps) * l.cfg.Recovery)
	if l.factor >= 1 && len(l.limiters) > len(l.cfg.Rates) {
		l.limiters, l.base = l.limiters[:len(l.cfg.Rates)], l.base[:len(l.cfg.Rates)]
	}
	l.applyLocked(now)
}

// applyLocked sets every limiter to its base rate times the factor, and
// the one throttling gave a backend without a rate to at least
// minAdaptiveRate.
func (l *Backend) applyLocked(now time.Time) {
	for i, lim := range l.limiters {
		r := l.base[i] * l.factor
		if i >= len(l.cfg.Rates) {
			r = max(r, minAdaptiveRate)
		}
		lim.SetLimitAt(now, rate.Limit(r))
	}
}

// Factor returns how much the backend is slowed down: 1 when it is not,
// 0.5 after one throttling answer, and so on.
func (l *Backend) Factor() float64 {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recoverLocked(now)
	return l.factor
}

// sweepLocked forgets turns kept for messages that never came back, and
// old send times.
func (l *Backend) sweepLocked(now time.Time) {
	if now.Sub(l.lastSweep) < time.Second {
		return
	}
	l.lastSweep = now
	for id, h := range l.held {
		if now.After(h.expires) {
			delete(l.held, id)
		}
	}
	l.trimLocked(now)
}

// trimLocked drops send times older than ten seconds.
func (l *Backend) trimLocked(now time.Time) {
	i := 0
	for i < len(l.recent) && now.Sub(l.recent[i]) > 10*time.Second {
		i++
	}
	l.recent = l.recent[i:]
}

func (l *Backend) name() string {
	if l.cfg.Name != "" {
		return "backend " + l.cfg.Name
	}
	return "the backend"
}

// domainsOf returns the distinct recipient domains, lower case.
func domainsOf(to []string) []string {
	var out []string
	seen := make(map[string]bool)
	for _, a := range to {
		d := strings.ToLower(a[strings.LastIndexByte(a, '@')+1:])
		if !seen[d] {
			seen[d] = true
			out = append(out, d)
		}
	}
	return out
}

// Close closes the wrapped backend. It is idempotent.
func (l *Backend) Close() error {
	if l.closed.Swap(true) {
		return nil
	}
	return l.child.Close()
}
