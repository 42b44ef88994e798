package smtp

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// conn is one connection to the server, greeted, secured and logged in as
// configured.
type conn struct {
	// text carries the transactions (see transact), on the connection
	// go-smtp's client greeted and logged in on (see dial).
	text     *textproto.Conn
	ext      extensions
	raw      net.Conn // the TCP connection: deadlines and closing
	tls      bool
	lastUsed time.Time
	messages int // messages this connection carried
}

// extensions are the EHLO extensions a transaction uses.
type extensions struct {
	pipelining, chunking, smtputf8, eightBit, size bool
}

// close ends the connection: politely with QUIT when it is in a known
// state, then by closing the socket.
func (c *conn) close(polite bool) {
	if polite {
		_ = c.raw.SetDeadline(time.Now().Add(time.Second))
		if c.text.PrintfLine("QUIT") == nil {
			_, _, _ = c.text.ReadResponse(221)
		}
	}
	_ = c.raw.Close()
}

// dial opens a connection, says EHLO, starts TLS and logs in as b's
// configuration says. ctx bounds the whole exchange.
func (b *Backend) dial(ctx context.Context) (_ *conn, err error) {
	d := net.Dialer{Timeout: b.cfg.Timeout}
	raw, err := d.DialContext(ctx, "tcp", b.name)
	if err != nil {
		return nil, b.netError(ctx, "connect", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = raw.Close() })
	defer func() {
		if !stop() && err == nil {
			err = b.netError(ctx, "connect", net.ErrClosed)
		}
		if err != nil {
			_ = raw.Close()
		}
	}()

	c := &conn{raw: raw}
	var nc net.Conn = raw
	switch b.cfg.TLS {
	case TLSImplicit:
		_ = raw.SetDeadline(b.deadline(ctx, b.cfg.Timeout))
		tc := tls.Client(raw, b.tls)
		if err := tc.HandshakeContext(ctx); err != nil {
			return nil, b.netError(ctx, "TLS handshake", err)
		}
		_ = raw.SetDeadline(time.Time{})
		nc, c.tls = tc, true
	case TLSStartTLS, TLSOpportunistic:
		nc, c.tls, err = b.startTLS(ctx, raw)
		if err != nil {
			return nil, err
		}
	}

	client := gosmtp.NewClient(nc)
	client.CommandTimeout = b.cmdTimeout(ctx)
	if err := client.Hello(b.cfg.Hello); err != nil {
		return nil, b.stageError(ctx, "EHLO", err)
	}
	if b.cfg.Username != "" {
		if err := b.login(ctx, c, client); err != nil {
			return nil, err
		}
	}
	// The server says nothing until the next command: nothing is left
	// in go-smtp's read buffer.
	c.text = textproto.NewConn(nc)
	has := func(ext string) bool { ok, _ := client.Extension(ext); return ok }
	c.ext = extensions{pipelining: has("PIPELINING"), chunking: has("CHUNKING"), smtputf8: has("SMTPUTF8"),
		eightBit: has("8BITMIME"), size: has("SIZE")}
	return c, nil
}

// login authenticates c through client, refusing to send credentials in
// clear text to anything but a loopback address.
func (b *Backend) login(ctx context.Context, c *conn, client *gosmtp.Client) error {
	if !c.tls {
		addr, _ := c.raw.RemoteAddr().(*net.TCPAddr)
		if !loopbackHost(b.cfg.Host) || addr == nil || !addr.IP.IsLoopback() {
			why := "the server did not offer STARTTLS"
			if b.cfg.TLS == TLSNone {
				why = "tls=none"
			}
			return fmt.Errorf("smtp %s: refusing to send credentials without TLS (%s) to %s, which is not a loopback address",
				b.name, why, b.cfg.Host)
		}
	}
	ok, offered := client.Extension("AUTH")
	if !ok {
		return fmt.Errorf("smtp %s: credentials are configured but the server does not offer AUTH", b.name)
	}
	mechs := strings.Fields(strings.ToUpper(offered))
	var mech sasl.Client
	switch {
	case b.cfg.Auth == AuthLogin,
		b.cfg.Auth == AuthAuto && !slices.Contains(mechs, sasl.Plain) && slices.Contains(mechs, sasl.Login):
		mech = sasl.NewLoginClient(b.cfg.Username, b.cfg.Password)
	case b.cfg.Auth == AuthPlain, slices.Contains(mechs, sasl.Plain):
		mech = sasl.NewPlainClient("", b.cfg.Username, b.cfg.Password)
	default:
		return fmt.Errorf("smtp %s: the server offers AUTH %s; only PLAIN and LOGIN are supported", b.name, offered)
	}
	if err := client.Auth(mech); err != nil {
		return b.stageError(ctx, "AUTH", err)
	}
	return nil
}

// stageError wraps an error of a setup stage: a server reply (see
// setupError) or a network failure.
func (b *Backend) stageError(ctx context.Context, stage string, err error) error {
	if _, ok := serverReply(err); ok {
		return b.setupError(stage, err)
	}
	return b.netError(ctx, stage, err)
}

// netError wraps a network failure or a timeout, naming the context's
// error when it was the cause. It is temporary.
func (b *Backend) netError(ctx context.Context, stage string, err error) error {
	cerr := ctx.Err()
	if dl, ok := ctx.Deadline(); ok && cerr == nil && !time.Now().Before(dl) {
		// A connection deadline set from ctx's fired before ctx's timer.
		cerr = context.DeadlineExceeded
	}
	if cerr != nil {
		return fmt.Errorf("smtp %s: %s: %w (%w)", b.name, stage, cerr, err)
	}
	return fmt.Errorf("smtp %s: %s: %w", b.name, stage, err)
}

// deadline returns when an operation that may take d must end: in d, or
// at ctx's deadline if that is sooner.
func (b *Backend) deadline(ctx context.Context, d time.Duration) time.Time {
	t := time.Now().Add(d)
	if dl, ok := ctx.Deadline(); ok && dl.Before(t) {
		return dl
	}
	return t
}

// cmdTimeout is the time each command may take under ctx.
func (b *Backend) cmdTimeout(ctx context.Context) time.Duration {
	return time.Until(b.deadline(ctx, b.cfg.Timeout))
}
