package limit

import (
	"time"

	"golang.org/x/time/rate"
)

// Saturated reports whether the backend can take no message now, being
// at its concurrency limit or out of rate tokens with no kept turn due,
// and if so the earliest time it may take one again: when a kept turn
// falls due or a token comes, or about one delivery's time from now when
// the concurrency limit is reached (a delivery ending frees it sooner).
// The engine skips the messages of a saturated backend in its claims
// (see backend.Set.Saturated), so that they wait in the queue rather than
// be claimed only to be sent back. The per-domain limit is per message,
// not per backend: it never saturates the backend.
func (l *Backend) Saturated() (saturated bool, until time.Time) {
	now := l.cfg.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recoverLocked(now)
	var wait time.Duration
	if l.cfg.MaxConcurrent > 0 && l.inflight >= l.cfg.MaxConcurrent {
		saturated, wait = true, l.busy
	}
	if rw, ok := l.rateWaitLocked(now); !ok {
		saturated, wait = true, max(wait, rw)
	}
	if !saturated {
		return false, time.Time{}
	}
	return true, now.Add(wait)
}

// rateWaitLocked reports whether the rates let a message go now (a token
// in every limiter, or a kept turn due that it may take over), or how
// long until they do.
func (l *Backend) rateWaitLocked(now time.Time) (time.Duration, bool) {
	var token time.Duration
	short := false
	for _, lim := range l.limiters {
		tokens := lim.TokensAt(now)
		if tokens >= 1 || lim.Limit() == rate.Inf {
			continue
		}
		short = true
		token = max(token, time.Duration((1-tokens)/float64(lim.Limit())*float64(time.Second)))
	}
	if !short {
		return 0, true
	}
	turn, ok := l.nextTurnLocked()
	if ok && !now.Before(turn.Add(-early)) {
		return 0, true
	}
	if ok && turn.Sub(now) < token {
		return turn.Sub(now), false
	}
	return token, false
}

// nextTurnLocked returns the earliest turn kept for a message.
func (l *Backend) nextTurnLocked() (time.Time, bool) {
	var first time.Time
	for _, h := range l.held {
		if first.IsZero() || h.at.Before(first) {
			first = h.at
		}
	}
	return first, !first.IsZero()
}

// takeDueTurnLocked gives a message without a kept turn the earliest kept
// turn that has come and not been taken (its message is still waiting in
// the queue, e.g. behind older mail while claims skipped this backend):
// the token was spent for that turn, so sending now keeps to the rate,
// and the message that lost it takes a new turn when it comes.
func (l *Backend) takeDueTurnLocked(now time.Time) bool {
	var (
		id    int64
		first time.Time
	)
	for hid, h := range l.held {
		if now.Before(h.at.Add(-early)) {
			continue
		}
		if first.IsZero() || h.at.Before(first) {
			id, first = hid, h.at
		}
	}
	if first.IsZero() {
		return false
	}
	delete(l.held, id)
	return true
}
