package smtp_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// TestPipelining talks to a scripted server: offered PIPELINING, the
// backend sends MAIL, both RCPTs and DATA in one write before reading a
// reply; not offered, it sends MAIL alone and waits.
func TestPipelining(t *testing.T) {
	for _, offer := range []bool{true, false} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		first := make(chan string, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
			r := bufio.NewReader(c)
			line := func() string { l, _ := r.ReadString('\n'); return l }
			c.Write([]byte("220 scripted\r\n"))
			line() // EHLO
			ext := "250-scripted\r\n"
			if offer {
				ext += "250-PIPELINING\r\n"
			}
			c.Write([]byte(ext + "250 8BITMIME\r\n"))
			// Whatever the client sends before any reply, once it has
			// had time to arrive.
			time.Sleep(100 * time.Millisecond)
			buf := make([]byte, 4096)
			n, _ := c.Read(buf)
			got := string(buf[:n])
			first <- got
			replies := []string{"250 sender ok\r\n", "250 rcpt ok\r\n", "250 rcpt ok\r\n", "354 go on\r\n"}
			if offer {
				c.Write([]byte(strings.Join(replies, "")))
			} else {
				c.Write([]byte(replies[0]))
				for _, rp := range replies[1:] {
					line()
					c.Write([]byte(rp))
				}
			}
			for l := line(); l != ".\r\n" && l != ""; l = line() {
			}
			c.Write([]byte("250 2.0.0 queued\r\n"))
			for l := line(); l != ""; l = line() {
				if strings.HasPrefix(l, "QUIT") {
					c.Write([]byte("221 bye\r\n"))
					return
				}
			}
		}()
		b := newBackend(t, "smtp://"+ln.Addr().String()+"?tls=none")
		res, err := b.Send(context.Background(), envelope("a@example.com", "b@example.com"))
		if err != nil || len(res) != 2 || res[0].Reply.Text != "queued" {
			t.Fatalf("offer %v: Send = %+v, %v", offer, res, err)
		}
		want := "MAIL FROM:<sender@example.com> BODY=8BITMIME\r\n"
		if offer {
			want += "RCPT TO:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nDATA\r\n"
		}
		if got := <-first; got != want {
			t.Errorf("offer %v: the client sent before any reply:\n%q\nwant\n%q", offer, got, want)
		}
	}
}

// bdatServer is a scripted server offering PIPELINING and CHUNKING. For
// each transaction it reports what the client sent before any reply, then
// answers with the replies script gives for it: for a message sent with
// DATA, the replies up to the 354, then the message's end is answered
// 250. It counts the connections it accepts.
type bdatServer struct {
	ln    net.Listener
	first chan string
	conns atomic.Int64
}

func newBDATServer(t *testing.T, script func(first string) string) *bdatServer {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	s := &bdatServer{ln: ln, first: make(chan string, 10)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			go s.serve(c, script)
		}
	}()
	return s
}

func (s *bdatServer) serve(c net.Conn, script func(first string) string) {
	defer c.Close()
	r := bufio.NewReader(c)
	line := func() string { l, _ := r.ReadString('\n'); return l }
	c.Write([]byte("220 scripted\r\n"))
	line() // EHLO
	c.Write([]byte("250-scripted\r\n250-PIPELINING\r\n250-CHUNKING\r\n250 8BITMIME\r\n"))
	for {
		// Whatever the client sends before any reply, once it has had
		// time to arrive.
		time.Sleep(100 * time.Millisecond)
		buf := make([]byte, 64<<10)
		n, err := r.Read(buf)
		if err != nil {
			return
		}
		got := string(buf[:n])
		if strings.HasPrefix(got, "QUIT") {
			c.Write([]byte("221 bye\r\n"))
			return
		}
		s.first <- got
		c.Write([]byte(script(got)))
		if strings.HasSuffix(got, "DATA\r\n") {
			for l := line(); l != ".\r\n" && l != ""; l = line() {
			}
			c.Write([]byte("250 2.0.0 queued\r\n"))
		}
	}
}

// TestBDAT: offered CHUNKING with PIPELINING, the backend sends MAIL, the
// RCPTs and the message as BDAT LAST in one write, and takes the BDAT
// reply as the message's; a message it cannot send byte for byte so (a
// bare LF, no final CRLF) goes with DATA; a server that answers a RCPT
// 421 yet takes the message has it taken for the other recipients, and
// the connection is not reused.
func TestBDAT(t *testing.T) {
	ok := func(string) string { return "250 ok\r\n250 ok\r\n250 ok\r\n250 2.0.0 queued as X\r\n" }
	t.Run("one write", func(t *testing.T) {
		s := newBDATServer(t, ok)
		b := newBackend(t, "smtp://"+s.ln.Addr().String()+"?tls=none")
		e := envelope("a@example.com", "b@example.com")
		res, err := b.Send(context.Background(), e)
		if err != nil || len(res) != 2 || res[0].Class != outbox.ClassAccepted || res[1].Reply.Text != "queued as X" {
			t.Fatalf("Send = %+v, %v", res, err)
		}
		want := "MAIL FROM:<sender@example.com> BODY=8BITMIME\r\nRCPT TO:<a@example.com>\r\nRCPT TO:<b@example.com>\r\n" +
			"BDAT " + strconv.Itoa(len(e.Data)) + " LAST\r\n" + string(e.Data)
		if got := <-s.first; got != want {
			t.Errorf("the client sent before any reply:\n%q\nwant\n%q", got, want)
		}
	})
	t.Run("DATA when the bytes would change", func(t *testing.T) {
		s := newBDATServer(t, func(string) string { return "250 ok\r\n250 ok\r\n354 go on\r\n" })
		b := newBackend(t, "smtp://"+s.ln.Addr().String()+"?tls=none")
		for _, data := range []string{"Subject: x\r\n\r\nbare\nLF\r\n", "Subject: x\r\n\r\nno final CRLF",
			"Subject: x\r\n\r\ntwo CRs\r\r\n", "Subject: x\r\n\r\na lone\rCR\r\n"} {
			e := envelope("a@example.com")
			e.Data = []byte(data)
			if _, err := b.Send(context.Background(), e); err != nil {
				t.Fatalf("Send(%q): %v", data, err)
			}
			if got := <-s.first; !strings.HasSuffix(got, "RCPT TO:<a@example.com>\r\nDATA\r\n") {
				t.Errorf("message %q: the client sent %q, want DATA after the RCPT", data, got)
			}
		}
	})
	t.Run("no recipient, the server closing", func(t *testing.T) {
		s := newBDATServer(t, func(string) string { return "250 ok\r\n550 5.1.1 no such user\r\n421 4.7.0 too many errors\r\n" })
		b := newBackend(t, "smtp://"+s.ln.Addr().String()+"?tls=none")
		res, err := b.Send(context.Background(), envelope("a@example.com"))
		if err != nil || len(res) != 1 || res[0].Class != outbox.ClassPermanent || res[0].Reply.Code != 550 {
			t.Fatalf("Send = %+v, %v; want the recipient refused by its 550", res, err)
		}
	})
	t.Run("no reply to the pipeline", func(t *testing.T) {
		s := newBDATServer(t, func(string) string { return "" })
		b := newBackend(t, "smtp://"+s.ln.Addr().String()+"?tls=none&data_timeout=300ms")
		_, err := b.Send(context.Background(), envelope("a@example.com"))
		if !errors.Is(err, outbox.ErrMayHaveAccepted) || !strings.Contains(err.Error(), "may have accepted") {
			t.Fatalf("Send = %v, want an error warning of a possible duplicate", err)
		}
		<-s.first
		if n := s.conns.Load(); n != 1 {
			t.Errorf("%d connections: the message was sent again at once, want 1", n)
		}
	})
	// MAIL refused: the server must have read and dropped the chunk. One
	// that did not answers the RSET after it out of step, and the
	// connection is not reused.
	t.Run("MAIL refused, chunk not dropped", func(t *testing.T) {
		var transactions atomic.Int64
		s := newBDATServer(t, func(first string) string {
			switch {
			case strings.HasPrefix(first, "RSET"):
				return "500 5.5.2 unrecognized command\r\n" // a line of the message, taken as a command
			case transactions.Add(1) == 1:
				return "550 5.7.1 relay denied\r\n503 5.5.1 MAIL first\r\n503 5.5.1 MAIL first\r\n"
			}
			return "250 ok\r\n250 ok\r\n250 2.0.0 queued\r\n"
		})
		b := newBackend(t, "smtp://"+s.ln.Addr().String()+"?tls=none")
		_, err := b.Send(context.Background(), envelope("a@example.com"))
		if c, r, isReply := class(err); !isReply || r.Code != 550 || c != outbox.ClassPermanent {
			t.Fatalf("Send = %v, want MAIL's 550", err)
		}
		if _, err := b.Send(context.Background(), envelope("b@example.com")); err != nil {
			t.Fatal(err)
		}
		if n := s.conns.Load(); n != 2 {
			t.Errorf("%d connections, want 2: one out of step is not reused", n)
		}
	})
	t.Run("421 to a RCPT, message taken", func(t *testing.T) {
		s := newBDATServer(t, func(first string) string {
			if strings.Count(first, "RCPT TO") == 1 {
				return "250 ok\r\n250 ok\r\n250 2.0.0 queued\r\n"
			}
			return "250 ok\r\n421 4.7.0 slow down\r\n250 ok\r\n250 2.0.0 queued\r\n"
		})
		b := newBackend(t, "smtp://"+s.ln.Addr().String()+"?tls=none")
		res, err := b.Send(context.Background(), envelope("a@example.com", "b@example.com"))
		if err != nil || len(res) != 2 || res[0].Class != outbox.ClassThrottled || res[1].Class != outbox.ClassAccepted {
			t.Fatalf("Send = %+v, %v; want a throttled, b accepted", res, err)
		}
		<-s.first
		if _, err := b.Send(context.Background(), envelope("c@example.com")); err != nil {
			t.Fatal(err)
		}
		<-s.first
		if n := s.conns.Load(); n != 2 {
			t.Errorf("%d connections, want 2: one that got a 421 is not reused", n)
		}
	})
}
