package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/outboxmail/outbox"
)

// ErrClosed is returned by Send after Close.
var ErrClosed = errors.New("smtp backend closed")

// Backend delivers messages to one SMTP server over a pool of reused
// connections. It is safe for concurrent use. Create it with New or
// FromURL.
type Backend struct {
	cfg  Config
	name string // host:port, for dialing and for messages
	tls  *tls.Config

	slots chan struct{} // a token per connection in use
	done  chan struct{} // closed by Close

	mu     sync.Mutex
	idle   []*conn // most recently used last
	closed bool
	sweep  *time.Timer // closes idle connections past IdleTimeout
	armed  bool        // sweep is scheduled
}

var _ outbox.Backend = (*Backend)(nil)

// New returns a backend for cfg. It does not connect: the first Send does.
// An invalid setting is a *ConfigError.
func New(cfg Config) (*Backend, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	b := &Backend{
		cfg:   cfg,
		name:  net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port)),
		slots: make(chan struct{}, cfg.MaxConns),
		done:  make(chan struct{}),
	}
	if cfg.TLS != TLSNone {
		b.tls = &tls.Config{
			ServerName:         cfg.Host,
			RootCAs:            cfg.RootCAs,
			InsecureSkipVerify: cfg.InsecureSkipVerify, // explicit opt-in (insecure_skip_verify)
			MinVersion:         tls.VersionTLS12,
		}
	}
	return b, nil
}

// String returns the backend's URL without the password.
func (b *Backend) String() string {
	u := url.URL{Scheme: "smtp", Host: b.name}
	if b.cfg.TLS == TLSImplicit {
		u.Scheme = "smtps"
	} else {
		u.RawQuery = "tls=" + string(b.cfg.TLS)
	}
	if b.cfg.Username != "" {
		u.User = url.User(b.cfg.Username)
	}
	return u.String()
}

// Send delivers e in one SMTP transaction over a pooled connection, dialing
// one if none is idle. A reused connection found broken at the start of the
// transaction is replaced by a fresh one once. Send waits for a free
// connection when MaxConns are busy, and gives up when ctx is done.
//
// It returns one result per recipient when the server took the message or
// refused every recipient; a *outbox.SendError with the server's reply when
// it refused the sender or the data, or answered 421, or when the message
// needs SMTPUTF8 and the server lacks it (permanent); and a plain error,
// temporary, for a network failure or a timeout.
func (b *Backend) Send(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
	if err := checkEnvelope(e); err != nil {
		return nil, err
	}
	if err := b.acquire(ctx); err != nil {
		return nil, err
	}
	defer b.release()

	c, reused := b.takeIdle()
	for {
		if c == nil {
			var err error
			if c, err = b.dial(ctx); err != nil {
				return nil, err
			}
		}
		res, state, err := b.transact(ctx, c, e, reused)
		if state == connStale && reused {
			c.close(false)
			c, reused = nil, false
			continue
		}
		if err == nil {
			c.messages++
		}
		b.putIdle(c, state == connReady)
		return res, err
	}
}

// Close closes the idle connections and makes later Sends fail with
// ErrClosed; connections in use are closed when their Send ends. It is
// idempotent.
func (b *Backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.done)
	idle := b.idle
	b.idle = nil
	if b.sweep != nil {
		b.sweep.Stop()
	}
	b.mu.Unlock()
	for _, c := range idle {
		c.close(true)
	}
	return nil
}

// checkEnvelope refuses what no server could take.
func checkEnvelope(e *outbox.Envelope) error {
	if len(e.To) == 0 {
		return outbox.Permanent("no recipients")
	}
	for _, a := range append([]string{e.From}, e.To...) {
		for i := 0; i < len(a); i++ {
			if a[i] == '\r' || a[i] == '\n' || a[i] == '<' || a[i] == '>' {
				return outbox.Permanent("invalid envelope address %q", a)
			}
		}
	}
	return nil
}
