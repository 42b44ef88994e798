package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	netsmtp "net/smtp"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend/smtp"
)

func startSink(t *testing.T) *sink {
	t.Helper()
	s, err := newSink("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSinkReceives: messages sent by Outbox's own SMTP client (pipelined,
// over one reused connection) and by Go's net/smtp (one command at a time)
// are each counted once in their phase, a dot at a line's start and all;
// a message sent twice counts as a duplicate.
func TestSinkReceives(t *testing.T) {
	s := startSink(t)
	s.expect("p")
	u, _ := url.Parse("smtp://" + s.Addr() + "?tls=none")
	be, err := smtp.FromURL(u)
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	sent := time.Now().Add(-time.Second)
	msg := func(n int) []byte {
		raw := appendRawMessage(nil, messageID("p", n), sent)
		return append(raw, ".a line with a dot\r\n"...)
	}
	for n := 1; n <= 3; n++ {
		res, err := be.Send(context.Background(), &outbox.Envelope{From: "a@example.com", To: []string{"b@example.org", "c@example.org"}, Data: msg(n)})
		if err != nil || len(res) != 2 || res[0].Class != outbox.ClassAccepted {
			t.Fatalf("Outbox client, message %d: %v %+v", n, err, res)
		}
	}
	err = netsmtp.SendMail(s.Addr(), nil, "a@example.com", []string{"b@example.org"}, msg(1))
	if err != nil {
		t.Fatalf("net/smtp client: %v", err)
	}
	a := s.snapshot("p")
	if a.Count != 3 || a.Dups != 1 || len(a.Lat) != 3 {
		t.Errorf("sink counted %d messages, %d duplicates, %d latencies; want 3, 1, 3", a.Count, a.Dups, len(a.Lat))
	}
	for _, l := range a.Lat {
		if l < time.Second || l > time.Minute {
			t.Errorf("latency %v, want from the X-Bench-Sent time a second ago", l)
		}
	}
}

// countingConn counts the writes made on a connection.
type countingConn struct {
	net.Conn
	writes atomic.Int64
}

func (c *countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestSinkAnswersPipelinedCommandsInOneWrite: MAIL, RCPT and DATA sent in
// one write get their three replies in one write; commands out of order
// and unknown ones are refused.
func TestSinkAnswersPipelinedCommandsInOneWrite(t *testing.T) {
	s := startSink(t)
	client, server := net.Pipe()
	cc := &countingConn{Conn: server}
	done := make(chan struct{})
	go func() { s.serveConn(cc); close(done) }()
	defer func() { client.Close(); <-done }()
	r := bufio.NewReader(client)
	expect := func(prefixes ...string) {
		t.Helper()
		for _, p := range prefixes {
			client.SetReadDeadline(time.Now().Add(5 * time.Second))
			line, err := r.ReadString('\n')
			if err != nil || !strings.HasPrefix(line, p) {
				t.Fatalf("reply %q, %v; want %q", line, err, p)
			}
		}
	}
	send := func(s string) {
		t.Helper()
		if _, err := io.WriteString(client, s); err != nil {
			t.Fatal(err)
		}
	}
	expect("220 ")
	send("EHLO client\r\n")
	expect("250-", "250-PIPELINING", "250-CHUNKING", "250-8BITMIME", "250-ENHANCEDSTATUSCODES", "250 SIZE ")
	send("DATA\r\nRCPT TO:<b@example.org>\r\nXYZZY\r\n")
	expect("503 ", "503 ", "502 ")
	before := cc.writes.Load()
	send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n")
	expect("250 ", "250 ", "354 ")
	if n := cc.writes.Load() - before; n != 1 {
		t.Errorf("the replies to MAIL, RCPT and DATA took %d writes, want 1", n)
	}
	send("Subject: x\r\n\r\nbody\r\n.\r\n")
	expect("250 ")

	// BDAT: the message in the commands' write, in two chunks; a chunk
	// with no recipient is read and refused.
	s.expect("p")
	msg := string(appendRawMessage(nil, messageID("p", 1), time.Now()))
	before = cc.writes.Load()
	send("BDAT 3 LAST\r\nabc" + "MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\n" +
		"BDAT 10\r\n" + msg[:10] + "BDAT " + fmt.Sprint(len(msg)-10) + " LAST\r\n" + msg[10:])
	expect("503 ", "250 ", "250 ", "250 2.0.0 chunk", "250 2.0.0 OK")
	if n := cc.writes.Load() - before; n != 1 {
		t.Errorf("the replies to BDAT and its transaction took %d writes, want 1", n)
	}
	if a := s.snapshot("p"); a.Count != 1 {
		t.Errorf("the sink counted %d messages sent by BDAT, want 1", a.Count)
	}
	send("MAIL FROM:<a@example.com>\r\nRCPT TO:<b@example.org>\r\nBDAT 3\r\nabcDATA\r\nRSET\r\n")
	expect("250 ", "250 ", "250 2.0.0 chunk", "503 ", "250 ")
	send("BDAT x\r\n")
	expect("501 ")
}

func TestReadData(t *testing.T) {
	for _, tc := range []struct {
		name, in, want, rest string
		max                  int
		err                  error
	}{
		{"dot-stuffing undone", "a\r\n..b\r\n.\r\nNEXT", "a\r\n.b\r\n", "NEXT", 100, nil},
		{"empty message", ".\r\nNEXT", "", "NEXT", 100, nil},
		{"a dot inside a line stays", "a.\r\n.\r\n", "a.\r\n", "", 100, nil},
		{"too big, read to its end", "0123456789\r\n.\r\nNEXT", "", "NEXT", 5, errTooBig},
		{"cut short", "abc\r\n", "abc\r\n", "", 100, io.EOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bufio.NewReaderSize(strings.NewReader(tc.in), 16)
			got, err := readData(r, nil, tc.max)
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			rest, _ := io.ReadAll(r)
			if tc.err != errTooBig && string(got) != tc.want || string(rest) != tc.rest {
				t.Errorf("data %q, rest %q; want %q, %q", got, rest, tc.want, tc.rest)
			}
		})
	}
	// A line longer than the reader's buffer keeps its dot handling at
	// line starts only.
	long := strings.Repeat("x", 40)
	r := bufio.NewReaderSize(strings.NewReader(".."+long+".\r\n.\r\n"), 16)
	got, err := readData(r, nil, 1000)
	if err != nil || string(got) != "."+long+".\r\n" {
		t.Errorf("long line: %q, %v", got, err)
	}
}
