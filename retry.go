package outbox

import (
	"errors"
	"time"
)

// RetryPolicy decides when a temporarily failed message is tried again and
// when it gives up. The zero value is DefaultRetryPolicy.
type RetryPolicy struct {
	// MinDelay is the delay after the first failed attempt (default 30s).
	MinDelay time.Duration
	// MaxDelay caps the exponential backoff (default 1h).
	MaxDelay time.Duration
	// MaxAttempts fails a message after this many counted attempts; 0
	// means no limit, so MaxLifetime decides (the default).
	MaxAttempts int
	// MaxLifetime expires a message still undelivered this long after it
	// was enqueued (or scheduled to start, SendAt) or last retried by an
	// operator (default 120h, as Postfix).
	MaxLifetime time.Duration
}

// DefaultRetryPolicy retries after 30s, doubling up to 1h, for 5 days.
// Postfix waits 300s at first; Outbox fronts applications whose users wait
// for the mail (a password reset, a ticket reply), and its upstream is
// usually a relay that recovers in seconds, so it starts sooner. The
// 5-day lifetime is Postfix's, the common expectation of mail.
var DefaultRetryPolicy = RetryPolicy{
	MinDelay:    30 * time.Second,
	MaxDelay:    time.Hour,
	MaxLifetime: 120 * time.Hour,
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy
	if p.MinDelay > 0 {
		d.MinDelay = p.MinDelay
	}
	if p.MaxDelay > 0 {
		d.MaxDelay = p.MaxDelay
	}
	if p.MaxAttempts > 0 {
		d.MaxAttempts = p.MaxAttempts
	}
	if p.MaxLifetime > 0 {
		d.MaxLifetime = p.MaxLifetime
	}
	return d
}

func (p RetryPolicy) validate() error {
	switch {
	case p.MinDelay < 0 || p.MaxDelay < 0 || p.MaxLifetime < 0 || p.MaxAttempts < 0:
		return errors.New("retry: delays, attempts and lifetime must not be negative")
	case p.MinDelay > 0 && p.MaxDelay > 0 && p.MinDelay > p.MaxDelay:
		return errors.New("retry: MinDelay must not exceed MaxDelay")
	}
	return nil
}

// Backoff returns the delay before the next attempt after n counted
// attempts (n ≥ 1): MinDelay·2^(n-1), capped at MaxDelay, scaled by a
// jitter of ±25 % (jitter in [0,1)), and kept within [MinDelay, MaxDelay].
func (p RetryPolicy) Backoff(n int, jitter float64) time.Duration {
	p = p.withDefaults()
	if n < 1 {
		n = 1
	}
	d := p.MinDelay
	for i := 1; i < n && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	d = time.Duration(float64(d) * (0.75 + 0.5*jitter))
	return max(p.MinDelay, min(d, p.MaxDelay))
}

// deadline is when a message expires: its own ExpiresAt or the end of
// its queue lifetime, whichever comes first.
func (p RetryPolicy) deadline(r *Record) time.Time {
	start := r.LifetimeStart
	if start.IsZero() {
		start = r.CreatedAt
	}
	d := start.Add(p.withDefaults().MaxLifetime)
	if !r.ExpiresAt.IsZero() && r.ExpiresAt.Before(d) {
		d = r.ExpiresAt
	}
	return d
}
