package smtp

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"time"
)

// startTLS reads the greeting, says EHLO and, when the server offers
// STARTTLS, upgrades raw to TLS. It returns the connection to hand to
// go-smtp, which replays the server's greeting so that go-smtp can greet
// as on a new connection, and whether TLS is on.
//
// go-smtp offers STARTTLS only through constructors that say EHLO as
// "localhost" before TLS, and cannot fall back to clear text; doing this
// first exchange here lets the backend introduce itself by its configured
// name and decide between TLS and clear text on a single connection.
//
// Without STARTTLS on offer (or refused with an error reply), the
// opportunistic mode goes on in clear text; the starttls mode fails.
func (b *Backend) startTLS(ctx context.Context, raw net.Conn) (net.Conn, bool, error) {
	tp := textproto.NewConn(raw)
	// step sends cmd (none for the greeting) and reads the reply.
	step := func(expect int, cmd string) (string, error) {
		_ = raw.SetDeadline(b.deadline(ctx, b.cfg.Timeout))
		defer func() { _ = raw.SetDeadline(time.Time{}) }()
		if cmd != "" {
			if err := tp.PrintfLine("%s", cmd); err != nil {
				return "", err
			}
		}
		_, msg, err := tp.ReadResponse(expect)
		return msg, err
	}
	greeting, err := step(220, "")
	if err != nil {
		return nil, false, b.stageError(ctx, "greeting", err)
	}
	plain := func(why string) (net.Conn, bool, error) {
		if b.cfg.TLS == TLSStartTLS {
			return nil, false, fmt.Errorf("smtp %s: tls=starttls, but the server %s", b.name, why)
		}
		if tp.R.Buffered() > 0 {
			return nil, false, fmt.Errorf("smtp %s: the server sent data out of turn", b.name)
		}
		return replayGreeting(raw, greeting), false, nil
	}

	ehlo, err := step(250, "EHLO "+b.cfg.Hello)
	if r, ok := serverReply(err); ok && (r.Code == 500 || r.Code == 502) {
		// No EHLO, hence no STARTTLS; go-smtp falls back to HELO.
		return plain("does not support EHLO, hence STARTTLS")
	} else if err != nil {
		return nil, false, b.stageError(ctx, "EHLO", err)
	}
	if !offers(ehlo, "STARTTLS") {
		return plain("does not offer STARTTLS")
	}
	_, err = step(220, "STARTTLS")
	if r, ok := serverReply(err); ok && r.Code != 421 {
		return plain("refused STARTTLS: " + r.String()) // e.g. 454 TLS not available
	} else if err != nil {
		return nil, false, b.stageError(ctx, "STARTTLS", err)
	}
	// Anything already read past the reply was sent in clear text before
	// the handshake and could have been injected on the way: refuse it.
	if tp.R.Buffered() > 0 {
		return nil, false, fmt.Errorf("smtp %s: the server sent data before the TLS handshake", b.name)
	}
	_ = raw.SetDeadline(b.deadline(ctx, b.cfg.Timeout))
	tc := tls.Client(raw, b.tls)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, false, b.netError(ctx, "TLS handshake", err)
	}
	_ = raw.SetDeadline(time.Time{})
	return replayGreeting(tc, greeting), true, nil
}

// offers reports whether an EHLO reply lists the extension ext.
func offers(ehlo, ext string) bool {
	lines := strings.Split(ehlo, "\n")
	for _, l := range lines[1:] {
		if kw, _, _ := strings.Cut(l, " "); strings.EqualFold(kw, ext) {
			return true
		}
	}
	return false
}

// greetedConn is a connection that first yields a copy of the greeting
// the server sent at its start, for go-smtp to read.
type greetedConn struct {
	net.Conn
	pending []byte
}

func replayGreeting(c net.Conn, greeting string) net.Conn {
	lines := strings.Split(greeting, "\n")
	var sb strings.Builder
	for i, l := range lines {
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		sb.WriteString("220" + sep + l + "\r\n")
	}
	return &greetedConn{Conn: c, pending: []byte(sb.String())}
}

func (c *greetedConn) Read(p []byte) (int, error) {
	if len(c.pending) > 0 {
		n := copy(p, c.pending)
		c.pending = c.pending[n:]
		return n, nil
	}
	return c.Conn.Read(p)
}
