package memory

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"sync"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/internal/params"
)

var _ outbox.Backend = (*Backend)(nil)

// Config configures a memory backend. The zero value keeps every message.
type Config struct {
	// Max is how many messages to keep; when more arrive the oldest are
	// dropped. Zero or less keeps them all.
	Max int
}

// Backend keeps the messages it is sent, in order. It is safe for
// concurrent use.
type Backend struct {
	max int

	mu     sync.Mutex
	msgs   []outbox.Envelope
	closed bool
	// changed is closed and replaced whenever msgs grows, to wake WaitFor.
	changed chan struct{}
}

// New returns an empty memory backend.
func New(cfg Config) *Backend {
	return &Backend{max: max(cfg.Max, 0), changed: make(chan struct{})}
}

// FromURL returns a memory backend for "memory:" or "memory:?max=N".
func FromURL(u *url.URL) (*Backend, error) {
	ps, err := params.Addressless(u, "memory", `"memory:" or "memory:?max=1000"`)
	if err != nil {
		return nil, err
	}
	var cfg Config
	for name, values := range ps {
		switch name {
		case "max":
			n, err := strconv.Atoi(values)
			if err != nil || n < 0 {
				return nil, fmt.Errorf("parameter max: %q is not a number of messages", values)
			}
			cfg.Max = n
		default:
			return nil, fmt.Errorf("unknown parameter %q (want max)", name)
		}
	}
	return New(cfg), nil
}

// Send keeps a copy of e and accepts every recipient.
func (b *Backend) Send(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c := copyEnvelope(e)
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errors.New("memory backend: closed")
	}
	b.msgs = append(b.msgs, c)
	if b.max > 0 && len(b.msgs) > b.max {
		n := copy(b.msgs, b.msgs[len(b.msgs)-b.max:])
		clear(b.msgs[n:])
		b.msgs = b.msgs[:n]
	}
	close(b.changed)
	b.changed = make(chan struct{})
	return outbox.Accepted(e, outbox.Reply{Code: 250, Enhanced: "2.0.0", Text: "kept in memory"}), nil
}

// Messages returns copies of the messages kept, oldest first.
func (b *Backend) Messages() []outbox.Envelope {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.copyLocked()
}

// Len returns how many messages are kept.
func (b *Backend) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.msgs)
}

// Reset forgets every message.
func (b *Backend) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	clear(b.msgs)
	b.msgs = b.msgs[:0]
}

// WaitFor waits until at least n messages are kept and returns copies of
// them, or returns ctx's error (with the messages kept so far) when ctx
// ends first.
func (b *Backend) WaitFor(ctx context.Context, n int) ([]outbox.Envelope, error) {
	for {
		b.mu.Lock()
		if len(b.msgs) >= n {
			msgs := b.copyLocked()
			b.mu.Unlock()
			return msgs, nil
		}
		changed := b.changed
		b.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			msgs := b.Messages()
			return msgs, fmt.Errorf("waiting for %d messages, have %d: %w", n, len(msgs), ctx.Err())
		}
	}
}

// Close makes later Sends fail; the messages kept stay readable. It is
// idempotent.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return nil
}

func (b *Backend) copyLocked() []outbox.Envelope {
	out := make([]outbox.Envelope, len(b.msgs))
	for i := range b.msgs {
		out[i] = copyEnvelope(&b.msgs[i])
	}
	return out
}

// copyEnvelope returns a copy of e that shares no memory with it.
func copyEnvelope(e *outbox.Envelope) outbox.Envelope {
	c := *e
	c.To = slices.Clone(e.To)
	c.Data = slices.Clone(e.Data)
	return c
}
