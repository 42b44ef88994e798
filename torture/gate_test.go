package torture

import (
	"io"
	"net"
	"sync"
	"testing"
)

// gate is a TCP relay in front of an upstream that can be taken down:
// while down it accepts each connection and resets it at once (the
// client sees its connection refused by the peer) and counts it, so that
// a test knows how often a client tried.
type gate struct {
	ln     net.Listener
	target string

	mu       sync.Mutex
	down     bool
	attempts int                   // connections refused while down
	open     map[net.Conn]struct{} // relayed connections, both sides
	wg       sync.WaitGroup
}

// newGate listens on 127.0.0.1 and relays to target until the test ends.
func newGate(t *testing.T, target string) *gate {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{ln: ln, target: target, open: make(map[net.Conn]struct{})}
	g.wg.Add(1)
	go g.serve()
	t.Cleanup(g.close)
	return g
}

// Addr is the address clients connect to.
func (g *gate) Addr() string { return g.ln.Addr().String() }

// Down refuses connections from now on, cuts the open ones and resets the
// count of attempts.
func (g *gate) Down() {
	g.mu.Lock()
	g.down, g.attempts = true, 0
	open := g.open
	g.open = make(map[net.Conn]struct{})
	g.mu.Unlock()
	for c := range open {
		c.Close()
	}
}

// Up relays connections again and returns the attempts refused while
// down.
func (g *gate) Up() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.down = false
	return g.attempts
}

// Attempts returns the connections refused since Down.
func (g *gate) Attempts() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.attempts
}

func (g *gate) serve() {
	defer g.wg.Done()
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		g.mu.Lock()
		down := g.down
		if down {
			g.attempts++
		}
		g.mu.Unlock()
		if down {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0) // RST, as a refused connection
			}
			c.Close()
			continue
		}
		g.wg.Add(1)
		go g.relay(c)
	}
}

// relay copies between a client and a new connection to the target.
func (g *gate) relay(c net.Conn) {
	defer g.wg.Done()
	up, err := net.Dial("tcp", g.target)
	if err != nil {
		c.Close()
		return
	}
	g.mu.Lock()
	g.open[c], g.open[up] = struct{}{}, struct{}{}
	g.mu.Unlock()
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go cp(up, c)
	go cp(c, up)
	<-done
	<-done
	g.mu.Lock()
	delete(g.open, c)
	delete(g.open, up)
	g.mu.Unlock()
}

// close stops the gate and every relayed connection.
func (g *gate) close() {
	g.ln.Close()
	g.Down()
	g.wg.Wait()
}
