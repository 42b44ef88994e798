package outboxtest

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Sink is an SMTP server on 127.0.0.1 for tests: it records the messages
// it accepts and answers on cue. Create it with [NewSink].
type Sink struct {
	t       testing.TB
	opts    options
	tls     *tls.Config // nil without TLS
	certPEM []byte

	mu       sync.Mutex
	addr     string        // fixed by the first Start
	server   *smtp.Server  // nil while stopped
	listener net.Listener  // the running server's
	served   chan struct{} // closed when the running server's Serve returns
	quit     chan struct{} // closed by Stop, to cut short delayed replies
	caFile   string
	messages []SinkMessage
	changed  chan struct{} // closed and replaced when a message is recorded
	cues     []*Cue
	delay    time.Duration
	conns    int                       // connections accepted since NewSink
	live     map[*countedConn]struct{} // connections open now
	txns     int                       // MAIL FROM commands accepted since NewSink
}

// SinkMessage is a message the sink accepted.
type SinkMessage struct {
	// From is the envelope sender (MAIL FROM), "" for a bounce.
	From string
	// To are the recipients the sink accepted, in the order given.
	To []string
	// Data is the message exactly as received, after the transparency
	// dots are removed: CRLF line endings, without the final ".".
	Data []byte
	// At is when the sink accepted the message.
	At time.Time
	// Hello is the name the client gave in EHLO or HELO.
	Hello string
	// TLS is the state of the session's TLS connection; nil in clear text.
	TLS *tls.ConnectionState
	// AuthUser is the user the client authenticated as, and AuthMech the
	// mechanism it used ("PLAIN" or "LOGIN"); "" without AUTH.
	AuthUser string
	AuthMech string
	// UTF8, Body and Size are the SMTPUTF8, BODY= and SIZE= parameters of
	// MAIL FROM (false, "" and 0 when absent).
	UTF8 bool
	Body string
	Size int64
}

// NewSink starts a sink on 127.0.0.1 on a free port, configured by opts,
// and stops it when the test ends. It fails the test if the sink cannot
// start.
func NewSink(t testing.TB, opts ...Option) *Sink {
	t.Helper()
	s := &Sink{t: t, opts: defaultOptions(), changed: make(chan struct{}), live: make(map[*countedConn]struct{})}
	for _, o := range opts {
		o(&s.opts)
	}
	if s.opts.startTLS || s.opts.implicitTLS {
		cert, pemBytes, err := selfSigned()
		if err != nil {
			t.Fatalf("outboxtest: %v", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		s.certPEM = pemBytes
	}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Addr returns the sink's address, "127.0.0.1:port". It stays the same
// across Stop and Start.
func (s *Sink) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Start starts a stopped sink again on the same address; it does nothing
// if the sink is running. It fails the test if the address cannot be
// listened on again.
func (s *Sink) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.server != nil {
		return
	}
	addr := s.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		s.t.Fatalf("outboxtest: listen on %s: %v", addr, err)
	}
	s.addr = l.Addr().String()
	quit := make(chan struct{})
	var ln net.Listener = countingListener{Listener: l, sink: s, quit: quit}
	if s.opts.implicitTLS {
		ln = tls.NewListener(ln, s.tls)
	}

	srv := smtp.NewServer(backend{sink: s})
	srv.Domain = "localhost"
	srv.TLSConfig = s.tls
	srv.AllowInsecureAuth = true // loopback only
	srv.EnableSMTPUTF8 = s.opts.smtpUTF8
	srv.MaxMessageBytes = s.opts.maxBytes
	srv.ErrorLog = log.New(io.Discard, "", 0)

	served := make(chan struct{})
	s.server, s.listener, s.served, s.quit = srv, l, served, quit
	go func() {
		defer close(served)
		_ = srv.Serve(ln) // returns when Stop closes the listener
	}()
}

// Stop closes the listener and every open connection, so that clients get
// "connection refused" until Start. It does nothing if the sink is stopped.
// Recorded messages, cues and counts are kept.
func (s *Sink) Stop() {
	s.mu.Lock()
	srv, l, served := s.server, s.listener, s.served
	if srv == nil {
		s.mu.Unlock()
		return
	}
	s.server, s.listener = nil, nil
	close(s.quit)
	live := make([]*countedConn, 0, len(s.live))
	for c := range s.live {
		live = append(live, c)
	}
	s.mu.Unlock()

	// Close the listener and connections here rather than rely on
	// srv.Close alone, which misses a listener Serve has not registered
	// yet and a connection accepted as it runs.
	_ = l.Close()
	_ = srv.Close()
	for _, c := range live {
		_ = c.Close()
	}
	<-served
}

// Messages returns the messages accepted so far, oldest first.
func (s *Sink) Messages() []SinkMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.messages)
}

// Count returns the number of messages accepted so far.
func (s *Sink) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.messages)
}

// WaitFor waits until the sink has accepted at least n messages and
// returns them all. It fails the test if that takes longer than timeout.
func (s *Sink) WaitFor(n int, timeout time.Duration) []SinkMessage {
	s.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		s.mu.Lock()
		if len(s.messages) >= n {
			msgs := slices.Clone(s.messages)
			s.mu.Unlock()
			return msgs
		}
		changed, have := s.changed, len(s.messages)
		s.mu.Unlock()
		select {
		case <-changed:
		case <-timer.C:
			s.t.Fatalf("outboxtest: waited %v for %d messages, the sink has %d", timeout, n, have)
			return nil
		}
	}
}

// Reset forgets the messages accepted so far. Cues, counts and the
// connection state are kept.
func (s *Sink) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = nil
}

// Connections returns the number of connections the sink has accepted
// since it was created, across Stop and Start.
func (s *Sink) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// OpenConnections returns the number of connections open now.
func (s *Sink) OpenConnections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live)
}

// Transactions returns the number of MAIL FROM commands the sink has
// accepted since it was created: one per transaction begun.
func (s *Sink) Transactions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.txns
}

// Delay makes the sink wait d before each reply to MAIL FROM, RCPT TO and
// the data's final dot, to test client timeouts; 0 removes the delay. Stop
// cuts a delay short.
func (s *Sink) Delay(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay = d
}

// CertPEM returns the sink's certificate in PEM form, or nil when the sink
// has no TLS.
func (s *Sink) CertPEM() []byte {
	return slices.Clone(s.certPEM)
}

// CertPool returns a pool that trusts the sink's certificate, or nil when
// the sink has no TLS.
func (s *Sink) CertPool() *x509.CertPool {
	if s.certPEM == nil {
		return nil
	}
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(s.certPEM)
	return p
}

// CAFile writes the sink's certificate in PEM form to a file in a
// temporary directory removed at the end of the test, and returns its
// path; "" when the sink has no TLS. The file is written once.
func (s *Sink) CAFile() string {
	s.t.Helper()
	if s.certPEM == nil {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.caFile == "" {
		p := filepath.Join(s.t.TempDir(), "sink-ca.pem")
		if err := os.WriteFile(p, s.certPEM, 0o600); err != nil {
			s.t.Fatalf("outboxtest: write CA file: %v", err)
		}
		s.caFile = p
	}
	return s.caFile
}

// record stores an accepted message and wakes WaitFor.
func (s *Sink) record(m SinkMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages = append(s.messages, m)
	close(s.changed)
	s.changed = make(chan struct{})
}
