package smtpd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/outboxmail/outbox"
)

func TestOversizeMessage(t *testing.T) {
	env := start(t, Config{MaxMessageBytes: 1000})
	c := env.dial(t)
	if _, size := c.Extension("SIZE"); size != "1000" {
		t.Errorf("SIZE %q, want 1000", size)
	}
	big := "From: a@example.com\r\n\r\n" + strings.Repeat("0123456789abcdef\r\n", 100)
	_, err := trySend(c, "a@example.com", []string{"b@example.net"}, big, nil)
	wantCode(t, err, 552, smtp.EnhancedCode{5, 3, 4})

	// Announced with SIZE, it is refused before any data.
	err = c.Mail("a@example.com", &smtp.MailOptions{Size: 5000})
	wantCode(t, err, 552, smtp.EnhancedCode{5, 3, 4})

	// Over BDAT too.
	r := env.raw(t)
	r.must("EHLO client.test", 250)
	r.must("MAIL FROM:<a@example.com>", 250)
	r.must("RCPT TO:<b@example.net>", 250)
	r.write(fmt.Sprintf("BDAT %d LAST\r\n%s", len(big), big))
	if code, msg := r.reply(); code != 552 || !strings.HasPrefix(msg, "5.3.4") {
		t.Errorf("oversize BDAT: %d %s, want 552 5.3.4", code, msg)
	}

	// The session is still usable after a refusal.
	send(t, c, "a@example.com", []string{"b@example.net"}, "From: a@example.com\r\n\r\nsmall\r\n")
	if n := env.count(t); n != 1 {
		t.Errorf("%d messages stored, want only the small one", n)
	}
}

func TestTooManyRecipients(t *testing.T) {
	env := start(t, Config{MaxRecipients: 2})
	c := env.dial(t)
	if err := c.Mail("a@example.com", nil); err != nil {
		t.Fatal(err)
	}
	for _, to := range []string{"1@example.net", "2@example.net"} {
		if err := c.Rcpt(to, nil); err != nil {
			t.Fatal(err)
		}
	}
	wantCode(t, c.Rcpt("3@example.net", nil), 452, smtp.EnhancedCode{4, 5, 3})
	// The message goes to the two accepted recipients; the client sends
	// the rest in another transaction.
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("From: a@example.com\r\n\r\nhi\r\n"))
	resp, err := w.CloseWithResponse()
	if err != nil {
		t.Fatal(err)
	}
	id, err := queuedID(resp.StatusText)
	if err != nil {
		t.Fatal(err)
	}
	if got := recipients(env.stored(t, id)); len(got) != 2 {
		t.Errorf("recipients %v, want the first two", got)
	}
}

// failingStore is a store whose commits fail, like a full disk.
type failingStore struct{ outbox.Store }

func (failingStore) Enqueue(context.Context, []*outbox.Record) ([]outbox.EnqueueResult, error) {
	return nil, errors.New("disk I/O error: database or disk is full")
}

func TestStoreFailureIs451AndNothingStored(t *testing.T) {
	env := startWithStore(t, Config{}, func(st outbox.Store) outbox.Store { return failingStore{st} })
	c := env.dial(t)
	_, err := trySend(c, "a@example.com", []string{"b@example.net"}, signedMessage, nil)
	wantCode(t, err, 451, smtp.EnhancedCode{4, 3, 0})
	if strings.Contains(err.Error(), "disk") {
		t.Errorf("reply leaks the internal error: %v", err)
	}
	if n := env.count(t); n != 0 {
		t.Errorf("%d messages stored", n)
	}
	// Over BDAT as well.
	r := env.raw(t)
	r.must("EHLO client.test", 250)
	r.must("MAIL FROM:<a@example.com>", 250)
	r.must("RCPT TO:<b@example.net>", 250)
	r.write(fmt.Sprintf("BDAT %d LAST\r\n%s", len(signedMessage), signedMessage))
	if code, msg := r.reply(); code != 451 || !strings.HasPrefix(msg, "4.3.0") {
		t.Errorf("BDAT with failing store: %d %s, want 451 4.3.0", code, msg)
	}
}

func TestStoreClosedUnderClient(t *testing.T) {
	env := start(t, Config{})
	c := env.dial(t)
	send(t, c, "a@example.com", []string{"b@example.net"}, signedMessage)
	env.store.Close()
	_, err := trySend(c, "a@example.com", []string{"b@example.net"}, signedMessage, nil)
	wantCode(t, err, 451, smtp.EnhancedCode{4, 3, 0})
}

func TestMaxConnections(t *testing.T) {
	env := start(t, Config{MaxConnections: 2})
	env.raw(t)
	env.raw(t)
	conn, err := net.Dial("tcp", env.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	if got := readAll(conn); !strings.HasPrefix(got, "421 4.7.0 ") {
		t.Fatalf("third connection got %q, want 421 4.7.0", got)
	}
}

func TestConnectionSlotFreedOnQuit(t *testing.T) {
	env := start(t, Config{MaxConnections: 1})
	for range 3 {
		c, err := smtp.Dial(env.addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Quit(); err != nil {
			t.Fatal(err)
		}
		// The server counts the connection until its goroutine closed it.
		deadline := time.Now().Add(5 * time.Second)
		for env.srv.conns.count() > 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func TestCommandTimeout(t *testing.T) {
	env := start(t, Config{ReadTimeout: 200 * time.Millisecond})
	r := env.raw(t)
	r.must("EHLO client.test", 250)
	// Say nothing: the server gives up and closes.
	if got := readAll(r.conn); !strings.HasPrefix(got, "421 4.4.2 ") {
		t.Fatalf("idle client got %q, want 421 4.4.2", got)
	}
}

func TestDataTimeout(t *testing.T) {
	env := start(t, Config{DataTimeout: 200 * time.Millisecond})
	r := env.raw(t)
	r.startData()
	r.write("From: a@example.com\r\n\r\nhalf a mess")
	// Stall: the server gives up, and closes rather than reading the rest
	// of the message as commands.
	if got := readAll(r.conn); !strings.HasPrefix(got, "421 4.4.2 ") {
		t.Fatalf("stalled DATA got %q, want 421 4.4.2", got)
	}
	if n := env.count(t); n != 0 {
		t.Errorf("%d messages stored", n)
	}
}

// TestBDATChunkTimeout: a BDAT chunk that stops coming ends the
// connection, and nothing is stored: what was left of the chunk, sent
// later, is never read as commands of a transaction of its own.
func TestBDATChunkTimeout(t *testing.T) {
	const timeout = time.Second
	env := start(t, Config{ReadTimeout: timeout})
	r := env.raw(t)
	r.must("EHLO client.test", 250)
	r.must("MAIL FROM:<a@example.com>", 250)
	r.must("RCPT TO:<b@example.net>", 250)
	rest := "x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<injected@example.org>\r\nDATA\r\n" +
		"Subject: injected\r\n\r\nsmuggled\r\n.\r\n"
	head := "From: a@example.com\r\n\r\n"
	r.write(fmt.Sprintf("BDAT %d LAST\r\n%s", len(head)+len(rest), head))
	// The chunk stalls past the timeout, and its rest comes before the
	// next command's timeout would run out.
	time.Sleep(timeout * 3 / 2)
	r.conn.Write([]byte(rest)) // may fail: the server has closed
	if got := readAll(r.conn); strings.Contains(got, "250 2.0.0") || strings.Contains(got, "354") {
		t.Errorf("after the stalled chunk the server answered %q", got)
	}
	if n := env.count(t); n != 0 {
		t.Errorf("%d messages stored, want none", n)
	}
}

// TestDataTimeoutIsIdleTime: a message arriving slowly but steadily is
// taken, however much longer than the data timeout it takes in all.
func TestDataTimeoutIsIdleTime(t *testing.T) {
	env := start(t, Config{DataTimeout: 300 * time.Millisecond})
	r := env.raw(t)
	r.startData()
	r.write("From: a@example.com\r\nTo: b@example.net\r\nSubject: slow\r\n\r\n")
	line := strings.Repeat("y", 98) + "\r\n"
	for i := range 10 { // a line every 100 ms: a second in all
		if _, err := r.conn.Write([]byte(line)); err != nil {
			t.Fatalf("the server closed after %d lines: %v", i, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.write(".\r\n")
	if code, text := r.reply(); code != 250 {
		t.Fatalf("slow DATA got %d %s, want 250", code, text)
	}
	// The command timeout applies again after the message.
	r.must("NOOP", 250)
}

func TestSequenceAndSyntaxErrors(t *testing.T) {
	env := start(t, Config{})
	r := env.raw(t)
	for _, tc := range []struct {
		cmd  string
		code int
	}{
		{"MAIL FROM:<a@example.com>", 502}, // before EHLO
		{"EHLO", 501},
		{"EHLO client.test", 250},
		{"RCPT TO:<b@example.net>", 502},
		{"DATA", 502},
		{"MAIL FROM:a@example.com", 250},
		{"MAIL FROM:<a@example.com>", 503},
		{"DATA", 502},
		{"RCPT TO:<>", 501},
		{"RCPT TO:<no-at-sign>", 501},
		{"RCPT TO:<a@bad_domain!>", 553},
		{"RSET", 250},
		{"MAIL FROM:<not an address>", 501},
		{"MAIL FROM:<a@example.com> SIZE=big", 501},
	} {
		code, msg := r.cmd(tc.cmd)
		if code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.cmd, code, msg, tc.code)
		}
		if code == 502 || code == 503 {
			if !strings.HasPrefix(msg, "5.5.1") {
				t.Errorf("%s: %d %s, want enhanced code 5.5.1", tc.cmd, code, msg)
			}
		}
	}
}

// TestLongLines: lines over RFC 5322's 998 octets (HTML on one line) are
// taken and stored unchanged, after DATA and in a BDAT chunk sent in the
// command's packet alike; only a line over 64 KiB after DATA is refused.
func TestLongLines(t *testing.T) {
	env := start(t, Config{})
	head := "From: a@example.com\r\nTo: b@example.net\r\nDate: Mon, 02 Jan 2006 15:04:05 +0000\r\nMessage-ID: <long@example.com>\r\nSubject: x\r\n\r\n"
	for _, n := range []int{2500, 60 << 10} {
		msg := head + "<html>" + strings.Repeat("x", n) + "</html>\r\n"
		r := env.raw(t)
		r.must("EHLO client.test", 250)
		for _, bdat := range []bool{false, true} {
			r.must("MAIL FROM:<a@example.com>", 250)
			r.must("RCPT TO:<b@example.net>", 250)
			if bdat {
				r.write(fmt.Sprintf("BDAT %d LAST\r\n%s", len(msg), msg))
			} else {
				r.must("DATA", 354)
				r.write(msg + ".\r\n")
			}
			code, text := r.reply()
			if code != 250 {
				t.Fatalf("%d-octet line, BDAT %v: %d %s", n, bdat, code, text)
			}
			id, err := queuedID(text)
			if err != nil {
				t.Fatal(err)
			}
			if _, rest := splitReceived(t, env.stored(t, id).Raw); string(rest) != msg {
				t.Errorf("%d-octet line, BDAT %v: stored differently", n, bdat)
			}
		}
	}
	r := env.raw(t)
	r.startData()
	r.write(head + strings.Repeat("x", 65<<10) + "\r\n.\r\n")
	if code, text := r.reply(); code != 500 || !strings.Contains(text, "5.5.2") {
		t.Errorf("a 65 KiB line got %d %s, want 500 5.5.2", code, text)
	}
}

// TestExactSize: a message of exactly the advertised SIZE is taken over
// BDAT; over DATA go-smtp's reader refuses it (it stops at the limit
// before it reads the end of the data), as the README says.
func TestExactSize(t *testing.T) {
	const max = 1000
	env := start(t, Config{MaxMessageBytes: max})
	head := "From: a@example.com\r\nTo: b@example.net\r\nSubject: x\r\n\r\n"
	msg := head + strings.Repeat("x", max-len(head)-2) + "\r\n"
	r := env.raw(t)
	r.must("EHLO client.test", 250)
	r.must("MAIL FROM:<a@example.com>", 250)
	r.must("RCPT TO:<b@example.net>", 250)
	r.write(fmt.Sprintf("BDAT %d LAST\r\n%s", len(msg), msg))
	if code, text := r.reply(); code != 250 {
		t.Errorf("BDAT of exactly SIZE: %d %s, want 250", code, text)
	}
	r.must(fmt.Sprintf("MAIL FROM:<a@example.com> SIZE=%d", max), 250)
	r.must("RCPT TO:<b@example.net>", 250)
	r.must("DATA", 354)
	r.write(msg + ".\r\n")
	if code, text := r.reply(); code != 552 {
		t.Errorf("DATA of exactly SIZE: %d %s, want 552 (go-smtp's limit)", code, text)
	}
}
