package smtpd

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/sqlite"
	"golang.org/x/crypto/bcrypt"
)

// testPassword is the password of the users testUsers returns.
const testPassword = "correct horse battery staple"

// testEnv is a running server over a real SQLite store.
type testEnv struct {
	srv    *Server
	addr   string // the plain listener
	tlsCfg *tls.Config
	client *outbox.Client
	store  outbox.Store
	done   chan error // Serve's result
}

// newStore opens a SQLite store in a temporary directory.
func newStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// start runs a server configured by cfg (with a SQLite store and client
// when cfg.Client is nil, a discarding logger and a TLS certificate when
// cfg.TLS is nil) on 127.0.0.1:0.
func start(t testing.TB, cfg Config) *testEnv {
	t.Helper()
	return startWithStore(t, cfg, nil)
}

// startWithStore is start with the store wrapped by wrap (when not nil).
func startWithStore(t testing.TB, cfg Config, wrap func(outbox.Store) outbox.Store) *testEnv {
	t.Helper()
	env := &testEnv{done: make(chan error, 1)}
	if cfg.Client == nil {
		var st outbox.Store = newStore(t)
		if wrap != nil {
			st = wrap(st)
		}
		env.store = st
		c, err := outbox.NewClient(outbox.ClientConfig{
			Store:        st,
			KnownBackend: func(name string) bool { return name == "" || name == "relay" },
		})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Client = c
	}
	env.client = cfg.Client
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.TLS == nil {
		cfg.TLS = testTLSConfig(t)
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "outbox.test"
	}
	env.tlsCfg = cfg.TLS
	srv, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	env.srv = srv
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	env.addr = l.Addr().String()
	go func() { env.done <- srv.Serve(l) }()
	t.Cleanup(func() { srv.Close() })
	return env
}

// testUsers returns a user "app" with testPassword, allowed to send as
// anything at example.com, and a user "any" with the same password.
func testUsers(t testing.TB) []User {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(testPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return []User{
		{Name: "app", PasswordHash: string(h), AllowedFrom: []string{"example.com", "ops@example.org"}},
		{Name: "any", PasswordHash: string(h)},
	}
}

// untrusted is a trusted-network list that leaves loopback out.
func untrusted() []netip.Prefix { return []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} }

// testTLSConfig returns a server configuration with a fresh self-signed
// certificate for 127.0.0.1.
func testTLSConfig(t testing.TB) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "outbox.test"},
		DNSNames:     []string{"outbox.test", "localhost"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

// clientTLS is the client side of testTLSConfig's certificates.
func clientTLS() *tls.Config { return &tls.Config{InsecureSkipVerify: true} }

// dial connects a go-smtp client and says EHLO.
func (e *testEnv) dial(t testing.TB) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(e.addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.test"); err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	return c
}

// send submits one message on c and returns the queue id from the reply.
func send(t testing.TB, c *smtp.Client, from string, to []string, msg string) int64 {
	t.Helper()
	id, err := trySend(c, from, to, msg, nil)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	return id
}

// trySend submits one message and returns the id in the 250 reply.
func trySend(c *smtp.Client, from string, to []string, msg string, opts *smtp.MailOptions) (int64, error) {
	if err := c.Mail(from, opts); err != nil {
		return 0, fmt.Errorf("MAIL: %w", err)
	}
	for _, a := range to {
		if err := c.Rcpt(a, nil); err != nil {
			return 0, fmt.Errorf("RCPT %s: %w", a, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return 0, fmt.Errorf("DATA: %w", err)
	}
	if _, err := io.WriteString(w, msg); err != nil {
		return 0, err
	}
	resp, err := w.CloseWithResponse()
	if err != nil {
		return 0, fmt.Errorf("end of data: %w", err)
	}
	return queuedID(resp.StatusText)
}

// queuedRe matches the text of the reply to a stored message.
var queuedRe = regexp.MustCompile(`^(?:2\.0\.0 )?queued as ([0-9]+)$`)

func queuedID(text string) (int64, error) {
	m := queuedRe.FindStringSubmatch(text)
	if m == nil {
		return 0, fmt.Errorf("reply %q does not name a queue id", text)
	}
	return strconv.ParseInt(m[1], 10, 64)
}

// smtpCode returns the reply code and enhanced code of a go-smtp client
// error, or fails the test.
func smtpCode(t testing.TB, err error) (int, smtp.EnhancedCode) {
	t.Helper()
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		t.Fatalf("want an SMTP error reply, got %v", err)
	}
	return se.Code, se.EnhancedCode
}

// wantCode fails unless err is a reply with this code and enhanced code.
func wantCode(t testing.TB, err error, code int, ec smtp.EnhancedCode) {
	t.Helper()
	got, gotEC := smtpCode(t, err)
	if got != code || gotEC != ec {
		t.Fatalf("reply %v, want %d %d.%d.%d", err, code, ec[0], ec[1], ec[2])
	}
}

// stored returns the message with this id.
func (e *testEnv) stored(t testing.TB, id int64) *outbox.Record {
	t.Helper()
	rec, err := e.client.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("get %d: %v", id, err)
	}
	return rec
}

// count returns the number of stored messages.
func (e *testEnv) count(t testing.TB) int64 {
	t.Helper()
	st, err := e.client.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return st.Total()
}

// receivedRe matches the Received field the server prepends.
var receivedRe = regexp.MustCompile(`^Received: from (\S+) \((\[[^\]]+\])\)\r\n\tby outbox\.test \(Outbox\) with (ESMTPS?A?) id ([0-9a-f]{16});\r\n\t([^\r\n]+)\r\n`)

// splitReceived checks the Received field at the top of raw and returns
// its protocol and the rest of the message.
func splitReceived(t testing.TB, raw []byte) (proto string, rest []byte) {
	t.Helper()
	m := receivedRe.FindSubmatch(raw)
	if m == nil {
		t.Fatalf("stored message does not start with a Received field:\n%s", raw)
	}
	if _, err := time.Parse(time.RFC1123Z, string(m[5])); err != nil {
		t.Errorf("Received date %q: %v", m[5], err)
	}
	return string(m[3]), raw[len(m[0]):]
}

// recipients returns the addresses of a record's recipients.
func recipients(r *outbox.Record) []string {
	out := make([]string, len(r.Recipients))
	for i, rc := range r.Recipients {
		out[i] = rc.Addr
	}
	return out
}

// rawConn is a line-level SMTP conversation, for what go-smtp's client
// does not do (BDAT, bad syntax, exact replies).
type rawConn struct {
	t    testing.TB
	conn net.Conn
	text *textproto.Conn
}

func (e *testEnv) raw(t testing.TB) *rawConn {
	t.Helper()
	conn, err := net.Dial("tcp", e.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := &rawConn{t: t, conn: conn, text: textproto.NewConn(conn)}
	r.expect(220)
	return r
}

// reply reads one (possibly multi-line) reply.
func (r *rawConn) reply() (int, string) {
	r.t.Helper()
	code, msg, err := r.text.ReadResponse(0)
	if err != nil {
		var te *textproto.Error
		if !errors.As(err, &te) {
			r.t.Fatalf("read reply: %v", err)
		}
	}
	return code, msg
}

// expect reads a reply and fails unless it has this code.
func (r *rawConn) expect(code int) string {
	r.t.Helper()
	got, msg := r.reply()
	if got != code {
		r.t.Fatalf("reply %d %s, want %d", got, msg, code)
	}
	return msg
}

// cmd sends a command line and returns the reply.
func (r *rawConn) cmd(line string) (int, string) {
	r.t.Helper()
	if err := r.text.PrintfLine("%s", line); err != nil {
		r.t.Fatalf("send %q: %v", line, err)
	}
	return r.reply()
}

// must sends a command and fails unless the reply has this code.
func (r *rawConn) must(line string, code int) string {
	r.t.Helper()
	got, msg := r.cmd(line)
	if got != code {
		r.t.Fatalf("%s: reply %d %s, want %d", line, got, msg, code)
	}
	return msg
}

// startData greets and opens a transaction from a@example.com to
// b@example.net up to DATA's 354.
func (r *rawConn) startData() {
	r.t.Helper()
	r.must("EHLO client.test", 250)
	r.must("MAIL FROM:<a@example.com>", 250)
	r.must("RCPT TO:<b@example.net>", 250)
	r.must("DATA", 354)
}

// write sends bytes as they are.
func (r *rawConn) write(s string) {
	r.t.Helper()
	if _, err := io.WriteString(r.conn, s); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// auth authenticates c with AUTH PLAIN.
func auth(c *smtp.Client, user, password string) error {
	return c.Auth(sasl.NewPlainClient("", user, password))
}

// lines splits text into lines for readable comparisons.
func lines(b []byte) []string { return strings.Split(string(b), "\r\n") }

// readAll reads what the server sends until it closes the connection.
func readAll(conn net.Conn) string {
	var sb strings.Builder
	br := bufio.NewReader(conn)
	io.Copy(&sb, br)
	return sb.String()
}
