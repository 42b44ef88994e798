package main

import (
	"bytes"
	"errors"
	"net"
	"strconv"
	"sync"
	"time"
)

// sink is the bench's SMTP server: it accepts every message, and for each
// one that carries a bench Message-ID (see messageID) records, in its
// phase's tally, its arrival and its end-to-end latency from the
// X-Bench-Sent header. It keeps no message bodies. Like Postfix's
// smtp-sink it does as little as SMTP allows (see serveConn), so that the
// machine's CPU goes to the relay measured rather than to its upstream.
type sink struct {
	ln net.Listener

	mu     sync.Mutex
	phases map[string]*tally
	other  int // messages without a bench Message-ID
	conns  map[net.Conn]struct{}
	closed bool
}

// tally is what arrived for one phase.
type tally struct {
	seen  map[string]struct{} // Message-IDs
	dups  int
	first time.Time
	last  time.Time
	lat   []time.Duration
}

// newSink starts a sink listening on addr (a loopback address; port 0
// picks a free one).
func newSink(addr string) (*sink, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &sink{ln: ln, phases: make(map[string]*tally), conns: make(map[net.Conn]struct{})}
	go s.accept()
	return s, nil
}

// accept serves each connection until the listener closes.
func (s *sink) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		go func() {
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
			c.Close()
		}()
	}
}

// Addr is the address the sink listens on.
func (s *sink) Addr() string { return s.ln.Addr().String() }

// Close stops the sink and closes its connections.
func (s *sink) Close() error {
	err := s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	return err
}

// expect starts the tally of a phase; messages of an unknown phase count
// as other.
func (s *sink) expect(phase string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.phases[phase] = &tally{seen: make(map[string]struct{})}
}

// arrivals is a copy of a phase's tally.
type arrivals struct {
	Count, Dups int
	First, Last time.Time
	Lat         []time.Duration
}

// snapshot returns a phase's tally so far.
func (s *sink) snapshot(phase string) arrivals {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.phases[phase]
	if t == nil {
		return arrivals{}
	}
	return arrivals{Count: len(t.seen), Dups: t.dups, First: t.first, Last: t.last, Lat: append([]time.Duration(nil), t.lat...)}
}

// count returns how many distinct messages of the phase arrived, and
// whether the phase is expected.
func (s *sink) count(phase string) (int, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.phases[phase]
	if t == nil {
		return 0, false
	}
	return len(t.seen), true
}

// waitFor waits until n distinct messages of the phase arrived, or none
// arrived for stall (an error); report is told the count as it grows.
func (s *sink) waitFor(phase string, n int, stall time.Duration, report func(int)) error {
	last, lastAt := -1, time.Now()
	for {
		got, ok := s.count(phase)
		report(got)
		switch {
		case !ok:
			return errors.New("phase " + phase + " is not expected")
		case got >= n:
			return nil
		case got != last:
			last, lastAt = got, time.Now()
		case time.Since(lastAt) > stall:
			return errors.New("the sink received " + strconv.Itoa(got) + " of " + strconv.Itoa(n) + " messages of phase " + phase + ", then nothing for " + stall.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// record notes one message.
func (s *sink) record(data []byte, at time.Time) {
	id, sent := benchHeaders(data)
	phase, ok := phaseOf(id)
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.phases[phase]
	if !ok || t == nil {
		s.other++
		return
	}
	if _, dup := t.seen[id]; dup {
		t.dups++
		return
	}
	t.seen[id] = struct{}{}
	if t.first.IsZero() {
		t.first = at
	}
	t.last = at
	if sent > 0 {
		t.lat = append(t.lat, at.Sub(time.Unix(0, sent)))
	}
}

// benchHeaders finds the Message-ID and the X-Bench-Sent time (Unix
// nanoseconds) in a message's header.
func benchHeaders(data []byte) (id string, sent int64) {
	hdr := data
	if i := bytes.Index(data, []byte("\r\n\r\n")); i >= 0 {
		hdr = data[:i+2]
	}
	for len(hdr) > 0 {
		line := hdr
		if i := bytes.IndexByte(hdr, '\n'); i >= 0 {
			line, hdr = hdr[:i], hdr[i+1:]
		} else {
			hdr = nil
		}
		line = bytes.TrimRight(line, "\r")
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue
		}
		switch {
		case bytes.EqualFold(name, []byte("Message-ID")):
			id = string(bytes.TrimSpace(value))
		case bytes.EqualFold(name, []byte("X-Bench-Sent")):
			sent, _ = strconv.ParseInt(string(bytes.TrimSpace(value)), 10, 64)
		}
	}
	return id, sent
}
