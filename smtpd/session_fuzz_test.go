package smtpd

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// FuzzSession feeds arbitrary client input (commands, DATA, BDAT chunks,
// AUTH exchanges, STARTTLS handshakes) to a server over an in-memory
// connection and checks that nothing panics (go-smtp recovers a panic in
// a command and logs it, so the log is checked too) and that every message
// the store took was acknowledged with "250 2.0.0 queued as <id>" — and every
// id so acknowledged is stored.
func FuzzSession(f *testing.F) {
	f.Add([]byte("EHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nSubject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n"), false)
	st := &recordingStore{Store: newStore(f)}
	client, err := outbox.NewClient(outbox.ClientConfig{Store: st})
	if err != nil {
		f.Fatal(err)
	}
	tlsCfg := testTLSConfig(f)
	users := testUsers(f)
	queued := regexp.MustCompile(`(?m)^250 2\.0\.0 queued as ([0-9]+)\r$`)

	// untrusted leaves loopback out of the trusted networks: the client
	// must then authenticate (AUTH stays offered on loopback).
	f.Fuzz(func(t *testing.T, input []byte, untrusted bool) {
		var logs lockedBuffer
		cfg := Config{
			Client:          client,
			Hostname:        "outbox.test",
			TLS:             tlsCfg,
			Users:           users,
			MaxMessageBytes: 4096,
			MaxRecipients:   5,
			Logger:          slog.New(slog.NewTextHandler(&logs, nil)),
		}
		if untrusted {
			cfg.TrustedNetworks = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		}
		srv, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		conn := newScriptConn(input)
		before := st.count()
		served := make(chan struct{})
		go func() {
			defer close(served)
			srv.Serve(&oneConnListener{conn: conn, closed: make(chan struct{})})
		}()
		select {
		case <-conn.closed:
		case <-time.After(30 * time.Second):
			t.Fatal("session did not end at end of input")
		}
		srv.Close()
		<-served

		// go-smtp v0.25.1 panics (and recovers) on a command still
		// buffered after it closed the connection itself (QUIT, too many
		// errors): its session is gone. That reply never reaches the
		// client and is go-smtp's; any other panic fails.
		out, log := conn.output(), logs.bytes()
		if bytes.Contains(out, []byte("Internal server error")) ||
			bytes.Contains(log, []byte("panic")) && bytes.Contains(log, []byte("outboxmail")) {
			t.Fatalf("panic while serving; output:\n%s\nlog:\n%s", out, log)
		}
		acked := map[int64]bool{}
		for _, m := range queued.FindAllSubmatch(out, -1) {
			id, _ := strconv.ParseInt(string(m[1]), 10, 64)
			acked[id] = true
			if _, err := client.Get(context.Background(), id); err != nil {
				t.Fatalf("acknowledged id %d is not stored: %v", id, err)
			}
		}
		for _, id := range st.since(before) {
			if !acked[id] {
				t.Fatalf("message %d stored without a 250 reply; output:\n%s", id, out)
			}
		}
	})
}

// recordingStore remembers the ids of the messages it newly stored.
type recordingStore struct {
	outbox.Store
	mu  sync.Mutex
	ids []int64
}

func (s *recordingStore) Enqueue(ctx context.Context, recs []*outbox.Record) ([]outbox.EnqueueResult, error) {
	res, err := s.Store.Enqueue(ctx, recs)
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range res {
		if r.Err == nil && !r.Existing {
			s.ids = append(s.ids, r.ID)
		}
	}
	return res, err
}

func (s *recordingStore) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ids)
}

func (s *recordingStore) since(n int) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]int64(nil), s.ids[n:]...)
}

// scriptConn is a connection whose peer sends a fixed script and then
// closes its side; what the server writes is kept.
type scriptConn struct {
	in     *bytes.Reader
	remote net.Addr
	closed chan struct{}
	once   sync.Once

	mu  sync.Mutex
	out bytes.Buffer
}

func newScriptConn(input []byte) *scriptConn {
	return &scriptConn{
		in:     bytes.NewReader(input),
		remote: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000},
		closed: make(chan struct{}),
	}
}

func (c *scriptConn) Read(p []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.in.Read(p)
}

func (c *scriptConn) Write(p []byte) (int, error) {
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	default:
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.Write(p)
}

func (c *scriptConn) output() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bytes.Clone(c.out.Bytes())
}

func (c *scriptConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *scriptConn) LocalAddr() net.Addr {
	return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2525}
}
func (c *scriptConn) RemoteAddr() net.Addr             { return c.remote }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// oneConnListener hands out one connection, then waits to be closed.
type oneConnListener struct {
	conn   net.Conn
	once   sync.Once
	given  bool
	closed chan struct{}
	mu     sync.Mutex
}

func (l *oneConnListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	given := l.given
	l.given = true
	l.mu.Unlock()
	if !given {
		return l.conn, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *oneConnListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *oneConnListener) Addr() net.Addr { return l.conn.LocalAddr() }

// lockedBuffer is a buffer safe for concurrent writes.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}
