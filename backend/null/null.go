package null

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync/atomic"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/internal/params"
)

var _ outbox.Backend = (*Backend)(nil)

// Backend accepts and drops every message. It is safe for concurrent use.
type Backend struct {
	closed atomic.Bool
}

// New returns a null backend.
func New() *Backend { return &Backend{} }

// FromURL returns a null backend for "null:", which takes no parameters.
func FromURL(u *url.URL) (*Backend, error) {
	if err := params.NoAddress(u, "null", `"null:"`); err != nil {
		return nil, err
	}
	if u.RawQuery != "" {
		return nil, fmt.Errorf("a null URL takes no parameters (got %q)", u.RawQuery)
	}
	return New(), nil
}

// Send accepts every recipient of e and drops the message.
func (b *Backend) Send(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
	if b.closed.Load() {
		return nil, errors.New("null backend: closed")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return outbox.Accepted(e, outbox.Reply{Code: 250, Enhanced: "2.0.0", Text: "discarded by the null backend"}), nil
}

// Close makes later Sends fail. It is idempotent.
func (b *Backend) Close() error {
	b.closed.Store(true)
	return nil
}
