package chain

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// Cooldown remembers which children failed recently: a child that failed
// is skipped until its cool-down ends, then tried again. It is safe for
// concurrent use.
type Cooldown struct {
	period time.Duration
	now    func() time.Time

	mu    sync.Mutex
	until []time.Time // zero when the child is not cooling down
}

// NewCooldown returns a cool-down of period for n children, read from the
// clock now (time.Now when nil).
func NewCooldown(n int, period time.Duration, now func() time.Time) *Cooldown {
	if now == nil {
		now = time.Now
	}
	return &Cooldown{period: period, now: now, until: make([]time.Time, n)}
}

// Fail starts child i's cool-down.
func (c *Cooldown) Fail(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.until[i] = c.now().Add(c.period)
}

// Recover ends child i's cool-down.
func (c *Cooldown) Recover(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.until[i] = time.Time{}
}

// Cooling reports whether child i is cooling down now.
func (c *Cooldown) Cooling(i int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.coolingLocked(i, c.now())
}

func (c *Cooldown) coolingLocked(i int, now time.Time) bool {
	return !c.until[i].IsZero() && now.Before(c.until[i])
}

// Order returns every child index, starting at first and wrapping around,
// with the children cooling down moved last, the one whose cool-down ends
// first ahead: when every child is cooling down, the message is still
// tried rather than held back.
func (c *Cooldown) Order(first int) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	n := len(c.until)
	var ready, cooling []int
	for k := range n {
		i := (first + k) % n
		if c.coolingLocked(i, now) {
			cooling = append(cooling, i)
		} else {
			ready = append(ready, i)
		}
	}
	slices.SortStableFunc(cooling, func(a, b int) int { return c.until[a].Compare(c.until[b]) })
	return append(ready, cooling...)
}

// ParseCooldown reads the cooldown parameter of a failover or roundrobin
// expression: a positive duration.
func ParseCooldown(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("parameter cooldown: %q is not a positive duration such as 60s", v)
	}
	return d, nil
}
