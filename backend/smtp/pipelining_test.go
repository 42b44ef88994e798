package smtp_test

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"
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
