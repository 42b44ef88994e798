package smtpd

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// rejectTimeout bounds the refusal of a connection beyond the limit.
const rejectTimeout = 10 * time.Second

// connTracker counts and tracks the server's open connections across its
// listeners. It refuses connections beyond the limit and, at shutdown,
// ends those not in the middle of a mail transaction.
type connTracker struct {
	max      int
	hostname string

	closing atomic.Bool
	mu      sync.Mutex
	conns   map[*trackedConn]struct{}
	lns     map[net.Listener]struct{}
	rejects sync.WaitGroup
}

func newConnTracker(max int, hostname string) *connTracker {
	return &connTracker{
		max:      max,
		hostname: hostname,
		conns:    make(map[*trackedConn]struct{}),
		lns:      make(map[net.Listener]struct{}),
	}
}

// listen wraps l so that its connections are counted. With tlsConfig set
// the connections are refused over TLS: the wrapper sits under the TLS
// layer, so that go-smtp still sees a *tls.Conn.
func (t *connTracker) listen(l net.Listener, tlsConfig *tls.Config) (net.Listener, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing.Load() {
		return nil, false
	}
	t.lns[l] = struct{}{}
	return &limitListener{Listener: l, t: t, tls: tlsConfig}, true
}

// add registers a new connection, or reports that it must be refused.
func (t *connTracker) add(c net.Conn) (*trackedConn, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closing.Load() || len(t.conns) >= t.max {
		return nil, false
	}
	tc := &trackedConn{Conn: c, t: t}
	t.conns[tc] = struct{}{}
	return tc, true
}

func (t *connTracker) remove(tc *trackedConn) {
	t.mu.Lock()
	delete(t.conns, tc)
	t.mu.Unlock()
}

// count returns the number of open connections.
func (t *connTracker) count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}

// reject answers a connection beyond the limit with 421 and closes it, in
// the background so that accepting goes on.
func (t *connTracker) reject(c net.Conn, tlsConfig *tls.Config) {
	t.rejects.Add(1)
	go func() {
		defer t.rejects.Done()
		defer c.Close()
		c.SetDeadline(time.Now().Add(rejectTimeout))
		if tlsConfig != nil {
			c = tls.Server(c, tlsConfig)
		}
		msg := "421 4.7.0 " + t.hostname + " Too many connections, try again later\r\n"
		if t.closing.Load() {
			msg = "421 4.3.2 " + t.hostname + " Service shutting down, try again later\r\n"
		}
		io.WriteString(c, msg)
	}()
}

// shutdown stops new connections, closes the listeners and closes every
// idle connection (one not inside a mail transaction); busy ones close
// when their transaction ends.
func (t *connTracker) shutdown() {
	t.mu.Lock()
	t.closing.Store(true)
	lns := make([]net.Listener, 0, len(t.lns))
	for l := range t.lns {
		lns = append(lns, l)
	}
	conns := make([]*trackedConn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, l := range lns {
		l.Close()
	}
	for _, c := range conns {
		c.closeIfIdle()
	}
}

// closeAll closes every listener and connection at once.
func (t *connTracker) closeAll() {
	t.shutdown()
	t.mu.Lock()
	conns := make([]*trackedConn, 0, len(t.conns))
	for c := range t.conns {
		conns = append(conns, c)
	}
	t.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

// limitListener is a listener whose connections a connTracker counts.
type limitListener struct {
	net.Listener
	t   *connTracker
	tls *tls.Config
}

// Accept returns the next connection within the limit; those beyond it
// are refused in the background.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if tc, ok := l.t.add(c); ok {
			return tc, nil
		}
		l.t.reject(c, l.tls)
	}
}

// trackedConn is a connection that knows whether a mail transaction is
// under way on it, so that a graceful shutdown never cuts one short.
type trackedConn struct {
	net.Conn
	t *connTracker

	mu     sync.Mutex
	busy   bool
	closed bool
	once   sync.Once

	// readIdle, when not zero, is how long each read from the socket
	// may wait (see readsWait).
	readIdle atomic.Int64
	// endOnTimeout makes a read that times out close the connection (see
	// chunksUnderWay).
	endOnTimeout atomic.Bool
}

// chunksUnderWay says whether BDAT chunks are being read. go-smtp reads
// them itself, and when one stops coming (the command timeout runs out)
// it answers 554 and reads on: the rest of the chunk would then be taken
// as commands, even as a mail transaction of its own. While chunks are
// under way, a read that times out therefore ends the connection, without
// a reply: under STARTTLS none can be written from below the TLS layer,
// and a client whose connection drops before the final reply keeps its
// message to try again.
func (c *trackedConn) chunksUnderWay(on bool) {
	c.endOnTimeout.Store(on)
}

// readsWait makes every later read from the socket wait at most d for
// its data, d counted from that read; 0 stops it. A deadline set once
// would run out on a slow transfer that never pauses: go-smtp's reader
// returns only once its buffer is full.
func (c *trackedConn) readsWait(d time.Duration) {
	c.readIdle.Store(int64(d))
}

// begin marks the start of a mail transaction. It reports false when the
// server is shutting down: the transaction must then be refused.
func (c *trackedConn) begin() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.t.closing.Load() {
		return false
	}
	c.busy = true
	return true
}

// end marks the end of a mail transaction (its reply has been written).
func (c *trackedConn) end() {
	c.mu.Lock()
	c.busy = false
	c.mu.Unlock()
}

// closeIfIdle closes the connection unless a transaction is under way.
func (c *trackedConn) closeIfIdle() {
	c.mu.Lock()
	idle := !c.busy
	if idle {
		c.closed = true
	}
	c.mu.Unlock()
	if idle {
		c.Close()
	}
}

// Read ends an idle connection during shutdown: when the session asks
// for its next command, it gets end of file.
func (c *trackedConn) Read(p []byte) (int, error) {
	if c.t.closing.Load() {
		c.mu.Lock()
		idle := !c.busy
		c.mu.Unlock()
		if idle {
			return 0, io.EOF
		}
	}
	if d := c.readIdle.Load(); d > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(time.Duration(d)))
	}
	n, err := c.Conn.Read(p)
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() && c.endOnTimeout.Load() {
		c.Close()
	}
	return n, err
}

// Close closes the connection and stops counting it.
func (c *trackedConn) Close() error {
	var err error
	c.once.Do(func() {
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		err = c.Conn.Close()
		c.t.remove(c)
	})
	return err
}
