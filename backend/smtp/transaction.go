package smtp

import (
	"context"
	"fmt"
	"time"
	"unicode/utf8"

	gosmtp "github.com/emersion/go-smtp"

	"github.com/outboxmail/outbox"
)

// connState is what a transaction leaves the connection fit for.
type connState int

const (
	connReady  connState = iota // idle, between transactions: reuse it
	connBroken                  // in an unknown state or closed: discard it
	connStale                   // failed before the first reply: discard it, and a reused one may be retried
)

// writeChunk is how much of the message is written under one deadline.
const writeChunk = 64 << 10

// transact runs one transaction for e on c.
func (b *Backend) transact(ctx context.Context, c *conn, e *outbox.Envelope) (_ []outbox.RecipientResult, state connState, _ error) {
	if err := ctx.Err(); err != nil {
		return nil, connReady, b.netError(ctx, "send", err)
	}
	// Closing the socket is the only way to interrupt go-smtp at once.
	stop := context.AfterFunc(ctx, func() { _ = c.raw.Close() })
	defer func() {
		if !stop() {
			state = connBroken
		}
	}()
	c.client.CommandTimeout = b.cmdTimeout(ctx)
	c.client.SubmissionTimeout = time.Until(b.deadline(ctx, b.cfg.DataTimeout))

	// The EHLO reply is at hand (see reset): Extension does no I/O.
	why := needsUTF8(e)
	if ok, _ := c.client.Extension("SMTPUTF8"); why != "" && !ok {
		return nil, connReady, outbox.Permanent("upstream %s does not support SMTPUTF8, required by %s", b.name, why)
	}

	// go-smtp adds BODY=8BITMIME whenever the server offers 8BITMIME, which
	// is correct for 7-bit data too; data with 8-bit bytes goes unchanged to
	// a server without it, as most accept it.
	opts := &gosmtp.MailOptions{Size: int64(len(e.Data)), UTF8: why != ""}
	if err := c.client.Mail(e.From, opts); err != nil {
		r, ok := serverReply(err)
		switch {
		case !ok:
			// Nothing was read: a reused connection the server had closed.
			return nil, connStale, b.netError(ctx, "MAIL FROM", err)
		case r.Code == 421:
			// Often the server's farewell on an idle connection.
			return nil, connStale, b.refused("MAIL FROM", r)
		default:
			return nil, connReady, b.refused("MAIL FROM", r)
		}
	}

	results := make([]outbox.RecipientResult, len(e.To))
	accepted := 0
	for i, to := range e.To {
		results[i] = outbox.RecipientResult{Addr: to}
		err := c.client.Rcpt(to, nil)
		if err == nil {
			accepted++
			continue
		}
		r, ok := serverReply(err)
		switch {
		case !ok:
			return nil, connBroken, b.netError(ctx, fmt.Sprintf("RCPT TO:<%s>", to), err)
		case r.Code == 421:
			return nil, connBroken, b.refused("RCPT TO", r)
		}
		results[i].Class, results[i].Reply = outbox.Classify(r), r
	}
	if accepted == 0 {
		return results, b.reset(c), nil
	}

	w, err := c.client.Data()
	if err != nil {
		r, ok := serverReply(err)
		switch {
		case !ok:
			return nil, connBroken, b.netError(ctx, "DATA", err)
		case r.Code == 421:
			return nil, connBroken, b.refused("DATA", r)
		}
		return nil, b.reset(c), b.refused("DATA", r)
	}
	for data := e.Data; len(data) > 0; {
		n := min(len(data), writeChunk)
		_ = c.raw.SetWriteDeadline(b.deadline(ctx, b.cfg.Timeout))
		if _, err := w.Write(data[:n]); err != nil {
			return nil, connBroken, b.netError(ctx, "writing the message", err)
		}
		data = data[n:]
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		r, ok := serverReply(err)
		switch {
		case !ok:
			// The server may have taken the message: a retry can duplicate it.
			return nil, connBroken, b.netError(ctx, "end of data (the server may have accepted the message)", err)
		case r.Code == 421:
			return nil, connBroken, b.refused("end of data", r)
		}
		return nil, connReady, b.refused("end of data", r)
	}

	enh, text := splitEnhanced(oneLine(resp.StatusText))
	ok := outbox.Reply{Code: 250, Enhanced: enh, Text: text}
	for i := range results {
		if results[i].Class == "" {
			results[i].Class, results[i].Reply = outbox.ClassAccepted, ok
		}
	}
	return results, connReady, nil
}

// reset ends a transaction the server still holds open, and says whether
// the connection can be reused. go-smtp forgets the EHLO reply on RSET, so
// EHLO is said again now rather than by the next transaction's first
// command, which keeps the server's extensions known between transactions.
func (b *Backend) reset(c *conn) connState {
	if err := c.client.Reset(); err != nil {
		return connBroken
	}
	if err := c.client.Hello(b.cfg.Hello); err != nil {
		return connBroken
	}
	return connReady
}

// refused is the error for a reply that fails the whole transaction.
func (b *Backend) refused(stage string, r outbox.Reply) error {
	return &outbox.SendError{Reply: r, Err: fmt.Errorf("smtp %s: refused at %s", b.name, stage)}
}

// needsUTF8 says why e needs SMTPUTF8, or "" if it does not: the
// envelope's flag (set for UTF-8 headers), or a non-ASCII address.
func needsUTF8(e *outbox.Envelope) string {
	if e.UTF8 {
		return "the message (UTF-8 in its headers or addresses)"
	}
	for _, a := range append([]string{e.From}, e.To...) {
		if !isASCII(a) {
			return fmt.Sprintf("the address %q", a)
		}
	}
	return ""
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
