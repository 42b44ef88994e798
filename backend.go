package outbox

import (
	"context"
	"time"
)

// Backend delivers messages: SMTP, console, file, memory, null, and the
// combinators that wrap others. Implementations connect lazily, on first
// Send, and are safe for concurrent use.
type Backend interface {
	// Send delivers e to every recipient in e.To. A nil error comes with
	// one RecipientResult per recipient, in e.To's order (accepted,
	// permanent, temporary, throttled or retry_now), with Leg "": the
	// overall answers. A combined backend (see Combined) follows them with
	// the answers of its legs, Leg set. A non-nil error fails the whole
	// transaction: a *SendError carries the upstream's reply and class; any
	// other error is temporary. Send must not modify e.
	Send(ctx context.Context, e *Envelope) ([]RecipientResult, error)
	// Close releases connections. Send after Close is an error.
	Close() error
}

// BackendFunc adapts a function to a Backend with a no-op Close.
type BackendFunc func(ctx context.Context, e *Envelope) ([]RecipientResult, error)

// Send calls f.
func (f BackendFunc) Send(ctx context.Context, e *Envelope) ([]RecipientResult, error) {
	return f(ctx, e)
}

// Close does nothing.
func (f BackendFunc) Close() error { return nil }

// Envelope is a message as a backend sees it: the SMTP envelope and the
// RFC 5322 bytes, which Outbox never changes between attempts.
type Envelope struct {
	// ID is the queue id.
	ID int64
	// MessageID is the RFC 5322 Message-ID, with angle brackets.
	MessageID string
	// From is the envelope sender (MAIL FROM); empty for a bounce.
	From string
	// To are the recipients of this attempt (RCPT TO).
	To []string
	// Data is the message, CRLF line endings.
	Data []byte
	// UTF8 is set when the envelope or the headers need SMTPUTF8.
	UTF8 bool
	// Settled is what earlier attempts settled on the legs of a combined
	// backend (see Combined); nil on a first attempt. Plain backends
	// ignore it: they are only given recipients still to deliver.
	Settled Settled
}

// Limiter is a Backend with limits on its rate or concurrency. Before each
// delivery through it the engine calls Reserve: when ok is false, the
// message goes back to the queue due after wait, with no attempt counted
// and its status unchanged (mail over a limit waits; it never fails);
// when ok is true, the engine sends and then calls done.
type Limiter interface {
	Backend
	Reserve(e *Envelope) (done func(), wait time.Duration, ok bool)
}

// Accepted returns a result accepting every recipient of e, for backends
// that cannot refuse one (console, file, memory, null).
func Accepted(e *Envelope, r Reply) []RecipientResult {
	out := make([]RecipientResult, len(e.To))
	for i, to := range e.To {
		out[i] = RecipientResult{Addr: to, Class: ClassAccepted, Reply: r}
	}
	return out
}
