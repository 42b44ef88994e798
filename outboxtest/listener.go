package outboxtest

import (
	"bytes"
	"net"
	"sync"
)

// countingListener counts the connections it accepts and keeps them in the
// sink's set of live connections, for Stop to close.
type countingListener struct {
	net.Listener
	sink *Sink
	quit chan struct{} // the run's: closed by Stop
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	s := l.sink
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-l.quit: // accepted as Stop closed the listener
		_ = c.Close()
		return nil, net.ErrClosed
	default:
	}
	cc := &countedConn{Conn: c, sink: s, hidden: s.opts.hidden}
	s.conns++
	s.live[cc] = struct{}{}
	return cc, nil
}

// countedConn leaves the sink's set of live connections once, when it is
// closed.
type countedConn struct {
	net.Conn
	sink *Sink
	once sync.Once
	// hidden are lines dropped from the EHLO reply (WithoutPipelining,
	// WithoutChunking), never its last: the server writes each reply
	// line in a write of its own, so a line is found whole.
	hidden []string
}

func (c *countedConn) Write(p []byte) (int, error) {
	for _, line := range c.hidden {
		if i := bytes.Index(p, []byte(line)); i >= 0 {
			q := append(append(make([]byte, 0, len(p)), p[:i]...), p[i+len(line):]...)
			if _, err := c.Conn.Write(q); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return c.Conn.Write(p)
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.sink.mu.Lock()
		delete(c.sink.live, c)
		c.sink.mu.Unlock()
	})
	return c.Conn.Close()
}
