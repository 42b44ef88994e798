package redirect

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend"
)

// DefaultHeader is the header field that keeps the original recipients.
const DefaultHeader = "X-Outbox-Original-Recipients"

// Config says where mail goes instead.
type Config struct {
	// To are the addresses every recipient not allowed is replaced by.
	// Required. [redirect_to]
	To []string
	// Allow lists recipients delivered as usual: an address
	// ("qa@example.com") or a domain ("@example.com"), case-insensitive.
	// [allow]
	Allow []string
	// Header is the field that lists the original recipients (default
	// DefaultHeader).
	Header string
}

// Backend redirects the recipients of a plain backend. It is safe for
// concurrent use.
type Backend struct {
	child  outbox.Backend
	cfg    Config
	closed atomic.Bool
}

var _ outbox.Backend = (*Backend)(nil)

// New wraps b, a plain backend (one without legs), with cfg.
func New(b outbox.Backend, cfg Config) (*Backend, error) {
	if b == nil {
		return nil, errors.New("redirect: no backend to wrap")
	}
	if c, ok := b.(outbox.Combined); ok && c.HasLegs() {
		return nil, errors.New("redirect: wrap the plain backends inside a combined one (redirect.Wrap), not the combined one")
	}
	if len(cfg.To) == 0 {
		return nil, errors.New("redirect: redirect_to is empty: name the addresses that get the mail")
	}
	for _, a := range append(slices.Clone(cfg.To), cfg.Allow...) {
		if a == "" || strings.ContainsAny(a, " \t\r\n,<>") || !strings.Contains(a, "@") && !strings.Contains(a, ".") {
			return nil, fmt.Errorf("redirect: %q is not an address or @domain", a)
		}
	}
	if cfg.Header == "" {
		cfg.Header = DefaultHeader
	}
	return &Backend{child: b, cfg: cfg}, nil
}

// Wrap returns a copy of schemes whose openers wrap each backend they
// open with cfg.
func Wrap(schemes backend.Schemes, cfg Config) backend.Schemes {
	out := make(backend.Schemes, len(schemes))
	for name, open := range schemes {
		out[name] = func(u *url.URL) (outbox.Backend, error) {
			b, err := open(u)
			if err != nil {
				return nil, err
			}
			r, err := New(b, cfg)
			if err != nil {
				b.Close()
				return nil, err
			}
			return r, nil
		}
	}
	return out
}

// allowed reports whether addr is delivered as usual.
func (b *Backend) allowed(addr string) bool {
	at := strings.LastIndexByte(addr, '@')
	for _, a := range b.cfg.Allow {
		if strings.EqualFold(a, addr) || strings.HasPrefix(a, "@") && strings.EqualFold(a, addr[at:]) ||
			!strings.Contains(a, "@") && strings.EqualFold(a, addr[at+1:]) {
			return true
		}
	}
	return false
}

// Send delivers e unchanged to its allowed recipients, and a copy with the
// original recipients in a header to the redirect addresses, in two
// transactions so that the header (which may name Bcc recipients) never
// reaches an allowed recipient. It answers for each original recipient: an
// allowed one by its own answer, a redirected one by the redirect
// addresses' (accepted once all accepted).
func (b *Backend) Send(ctx context.Context, e *outbox.Envelope) ([]outbox.RecipientResult, error) {
	if b.closed.Load() {
		return nil, errors.New("redirect: closed")
	}
	var allowed, redirected []string
	for _, a := range e.To {
		if b.allowed(a) {
			allowed = append(allowed, a)
		} else {
			redirected = append(redirected, a)
		}
	}
	if len(redirected) == 0 {
		return b.child.Send(ctx, e)
	}
	byAddr := make(map[string]outbox.RecipientResult, len(e.To)+len(b.cfg.To))
	if len(allowed) > 0 {
		b.send(ctx, e, allowed, e.Data, byAddr)
	}
	copyData := append(header(b.cfg.Header, e.To), e.Data...)
	b.send(ctx, e, b.cfg.To, copyData, byAddr)
	out := make([]outbox.RecipientResult, len(e.To))
	for i, a := range e.To {
		if b.allowed(a) {
			out[i] = byAddr[strings.ToLower(a)]
			out[i].Addr = a
			continue
		}
		out[i] = b.redirectedAnswer(a, byAddr)
	}
	return out, nil
}

// send runs one transaction of e's data to the recipients to, recording
// each recipient's answer in byAddr; a failed transaction gives every
// recipient its error's class and reply.
func (b *Backend) send(ctx context.Context, e *outbox.Envelope, to []string, data []byte, byAddr map[string]outbox.RecipientResult) {
	env := *e
	env.To, env.Data = to, data
	res, err := b.child.Send(ctx, &env)
	if err == nil && len(res) != len(to) {
		err = fmt.Errorf("redirect: the backend returned %d results for %d recipients", len(res), len(to))
	}
	for i, a := range to {
		r := outbox.RecipientResult{Addr: a}
		if err != nil {
			r.Class, r.Reply = outbox.ErrorClass(err)
			r.Uncertain = errors.Is(err, outbox.ErrMayHaveAccepted)
		} else {
			r = res[i]
		}
		byAddr[strings.ToLower(a)] = r
	}
}

// redirectedAnswer is the answer for a redirected recipient: the first
// redirect address's answer that is not an acceptance, or the first's.
func (b *Backend) redirectedAnswer(addr string, byAddr map[string]outbox.RecipientResult) outbox.RecipientResult {
	r := byAddr[strings.ToLower(b.cfg.To[0])]
	for _, t := range b.cfg.To {
		x := byAddr[strings.ToLower(t)]
		c := x.Class
		if c == "" {
			c = outbox.Classify(x.Reply)
		}
		if c != outbox.ClassAccepted {
			r = x
			break
		}
	}
	r.Addr = addr
	r.Reply.Text = "redirected to " + strings.Join(b.cfg.To, ", ") + ": " + r.Reply.Text
	return r
}

// header renders the field listing the original recipients, folded.
func header(name string, rcpts []string) []byte {
	var sb strings.Builder
	sb.WriteString(name + ":")
	line := len(name) + 1
	for i, a := range rcpts {
		sep := " "
		if i > 0 {
			sb.WriteByte(',')
			line++
			if line+1+len(a) > 78 {
				sb.WriteString("\r\n")
				line = 0
			}
		}
		sb.WriteString(sep + a)
		line += 1 + len(a)
	}
	sb.WriteString("\r\n")
	return []byte(sb.String())
}

// Close closes the wrapped backend. It is idempotent.
func (b *Backend) Close() error {
	if b.closed.Swap(true) {
		return nil
	}
	return b.child.Close()
}
