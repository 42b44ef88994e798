package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"sync"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/internal/params"
)

var _ outbox.Backend = (*Backend)(nil)

// Config configures a console backend. The zero value prints readable
// summaries.
type Config struct {
	// Raw prints each message's RFC 5322 bytes as they are, after the
	// separator and envelope lines, instead of a decoded summary.
	Raw bool
}

// Backend prints messages to a writer. It is safe for concurrent use.
type Backend struct {
	cfg Config

	mu     sync.Mutex // serializes writes to w
	w      io.Writer
	closed bool
}

// New returns a backend printing to w; a nil w means standard output.
func New(w io.Writer, cfg Config) *Backend {
	if w == nil {
		w = os.Stdout
	}
	return &Backend{w: w, cfg: cfg}
}

// FromURL returns a backend printing to standard output for "console:"
// or "console:?raw=true".
func FromURL(u *url.URL) (*Backend, error) {
	ps, err := params.Addressless(u, "console", `"console:" or "console:?raw=true"`)
	if err != nil {
		return nil, err
	}
	var cfg Config
	for name, values := range ps {
		switch name {
		case "raw":
			if cfg.Raw, err = strconv.ParseBool(values); err != nil {
				return nil, fmt.Errorf("parameter raw: %q is not true or false", values)
			}
		default:
			return nil, fmt.Errorf("unknown parameter %q (want raw)", name)
		}
	}
	return New(nil, cfg), nil
}

// Send prints e and accepts every recipient. A failed write is a
// temporary error.
func (b *Backend) Send(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if b.cfg.Raw {
		formatRaw(&buf, e)
	} else {
		format(&buf, e)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, errors.New("console backend: closed")
	}
	if _, err := b.w.Write(buf.Bytes()); err != nil {
		return nil, fmt.Errorf("console backend: %w", err)
	}
	return outbox.Accepted(e, outbox.Reply{Code: 250, Enhanced: "2.0.0", Text: "printed to the console"}), nil
}

// Close makes later Sends fail. It does not close the writer. It is
// idempotent.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.closed = true
	return nil
}
