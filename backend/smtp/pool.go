package smtp

import (
	"context"
	"fmt"
	"time"
)

// acquire takes a connection slot, waiting while MaxConns are in use.
func (b *Backend) acquire(ctx context.Context) error {
	select {
	case <-b.done:
		return ErrClosed
	default:
	}
	select {
	case b.slots <- struct{}{}:
		return nil
	case <-b.done:
		return ErrClosed
	case <-ctx.Done():
		return fmt.Errorf("smtp %s: waiting for a free connection: %w", b.name, ctx.Err())
	}
}

// release gives a slot back.
func (b *Backend) release() { <-b.slots }

// takeIdle returns the most recently used idle connection that has not
// outlived IdleTimeout, closing those that have; nil if there is none.
func (b *Backend) takeIdle() (c *conn, reused bool) {
	var expired []*conn
	b.mu.Lock()
	now := time.Now()
	for len(b.idle) > 0 && c == nil {
		last := b.idle[len(b.idle)-1]
		b.idle = b.idle[:len(b.idle)-1]
		if now.Sub(last.lastUsed) < b.cfg.IdleTimeout {
			c = last
		} else {
			expired = append(expired, last)
		}
	}
	b.mu.Unlock()
	for _, e := range expired {
		e.close(true)
	}
	if c != nil && now.Sub(c.lastUsed) >= b.cfg.HealthCheckAfter && !b.healthy(c) {
		c.close(false)
		return b.takeIdle()
	}
	return c, c != nil
}

// healthy checks a connection that sat idle with NOOP.
func (b *Backend) healthy(c *conn) bool {
	c.raw.SetDeadline(time.Now().Add(b.cfg.Timeout))
	defer c.raw.SetDeadline(time.Time{})
	if c.text.PrintfLine("NOOP") != nil {
		return false
	}
	_, _, err := c.text.ReadResponse(250)
	return err == nil
}

// putIdle keeps c for reuse when ready, else closes it; after Close it
// closes it too.
func (b *Backend) putIdle(c *conn, ready bool) {
	if !ready {
		c.close(false)
		return
	}
	if b.cfg.MaxMessages > 0 && c.messages >= b.cfg.MaxMessages {
		c.close(true)
		return
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		c.close(true)
		return
	}
	c.lastUsed = time.Now()
	b.idle = append(b.idle, c)
	if !b.armed {
		b.armed = true
		if b.sweep == nil {
			b.sweep = time.AfterFunc(b.cfg.IdleTimeout, b.sweepIdle)
		} else {
			b.sweep.Reset(b.cfg.IdleTimeout)
		}
	}
	b.mu.Unlock()
}

// sweepIdle closes the idle connections past IdleTimeout and schedules
// itself for the next one to expire.
func (b *Backend) sweepIdle() {
	var expired []*conn
	b.mu.Lock()
	now := time.Now()
	keep := b.idle[:0]
	for _, c := range b.idle {
		if now.Sub(c.lastUsed) >= b.cfg.IdleTimeout {
			expired = append(expired, c)
		} else {
			keep = append(keep, c)
		}
	}
	clear(b.idle[len(keep):])
	b.idle = keep
	b.armed = len(keep) > 0 && !b.closed
	if b.armed {
		// keep[0] is the least recently used: the next to expire.
		b.sweep.Reset(keep[0].lastUsed.Add(b.cfg.IdleTimeout).Sub(now))
	}
	b.mu.Unlock()
	for _, c := range expired {
		c.close(true)
	}
}
