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
	cc := &countedConn{Conn: c, sink: s, noPipelining: s.opts.noPipelining}
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
	// noPipelining drops PIPELINING from the EHLO reply
	// (WithoutPipelining): the server writes each reply line in a write
	// of its own, so the line is found whole.
	noPipelining bool
}

func (c *countedConn) Write(p []byte) (int, error) {
	if c.noPipelining {
		if i := bytes.Index(p, []byte(pipeliningLine)); i >= 0 {
			q := append(append(make([]byte, 0, len(p)), p[:i]...), p[i+len(pipeliningLine):]...)
			if _, err := c.Conn.Write(q); err != nil {
				return 0, err
			}
			return len(p), nil
		}
	}
	return c.Conn.Write(p)
}

// pipeliningLine is the line of go-smtp's EHLO reply offering PIPELINING
// (never its last line).
const pipeliningLine = "250-PIPELINING\r\n"

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.sink.mu.Lock()
		delete(c.sink.live, c)
		c.sink.mu.Unlock()
	})
	return c.Conn.Close()
}
