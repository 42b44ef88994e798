package smtp_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend/smtp"
	"github.com/outboxmail/outbox/outboxtest"
)

// newBackend returns a backend for rawURL, closed at the end of the test.
func newBackend(t testing.TB, rawURL string) *smtp.Backend {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	b, err := smtp.FromURL(u)
	if err != nil {
		t.Fatalf("FromURL(%s): %v", rawURL, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func sinkURL(s *outboxtest.Sink, query string) string {
	u := "smtp://" + s.Addr()
	if query != "" {
		u += "?" + query
	}
	return u
}

// envelope returns a message from sender@example.com to the given
// recipients, with a dot-leading line and 8-bit text.
func envelope(to ...string) *outbox.Envelope {
	data := "From: sender@example.com\r\nTo: " + strings.Join(to, ", ") + "\r\n" +
		"Subject: test\r\nMessage-ID: <1@example.com>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" +
		"Hello,\r\n.a line that starts with a dot\r\n..and two\r\nCafé crème.\r\n"
	return &outbox.Envelope{ID: 1, MessageID: "<1@example.com>", From: "sender@example.com", To: to, Data: []byte(data)}
}

func send(t testing.TB, b *smtp.Backend, e *outbox.Envelope) []outbox.RecipientResult {
	t.Helper()
	res, err := b.Send(context.Background(), e)
	if err != nil {
		t.Fatalf("Send: %v", err)
	}
	if len(res) != len(e.To) {
		t.Fatalf("Send returned %d results for %d recipients", len(res), len(e.To))
	}
	return res
}

// class returns the class an error stands for, and whether it is a
// *outbox.SendError (a reply) rather than a plain error.
func class(err error) (outbox.Class, outbox.Reply, bool) {
	var se *outbox.SendError
	c, r := outbox.ErrorClass(err)
	return c, r, errors.As(err, &se)
}

func TestDeliverByteExact(t *testing.T) {
	forEachMode(t, func(t *testing.T, opts ...outboxtest.Option) {
		sink := outboxtest.NewSink(t, opts...)
		b := newBackend(t, sinkURL(sink, "ehlo=client.example.com"))
		e := envelope("a@example.com", "b@example.com")
		res := send(t, b, e)
		for _, r := range res {
			if r.Class != outbox.ClassAccepted || r.Reply.Code != 250 || r.Reply.Enhanced != "2.0.0" || r.Reply.Text != "OK: queued" {
				t.Errorf("result %+v, want accepted with 250 2.0.0 OK: queued", r)
			}
		}
		m := sink.WaitFor(1, 5*time.Second)[0]
		if !bytes.Equal(m.Data, e.Data) {
			t.Errorf("data differs:\n got %q\nwant %q", m.Data, e.Data)
		}
		if m.From != e.From || strings.Join(m.To, " ") != "a@example.com b@example.com" {
			t.Errorf("envelope %q %q", m.From, m.To)
		}
		if m.Hello != "client.example.com" || m.Size != int64(len(e.Data)) || m.Body != "8BITMIME" || m.UTF8 || m.TLS != nil {
			t.Errorf("session: hello %q size %d body %q utf8 %v tls %v", m.Hello, m.Size, m.Body, m.UTF8, m.TLS != nil)
		}
	})
}

func TestLazy(t *testing.T) {
	sink := outboxtest.NewSink(t)
	newBackend(t, sinkURL(sink, ""))
	if n := sink.Connections(); n != 0 {
		t.Errorf("FromURL opened %d connections", n)
	}
}

func TestConnectionReuse(t *testing.T) {
	sink := outboxtest.NewSink(t)
	b := newBackend(t, sinkURL(sink, "tls=none"))
	for range 10 {
		send(t, b, envelope("a@example.com"))
	}
	if sink.Count() != 10 || sink.Connections() != 1 || sink.Transactions() != 10 {
		t.Errorf("%d messages over %d connections in %d transactions, want 10 over 1 in 10",
			sink.Count(), sink.Connections(), sink.Transactions())
	}
}

func TestMaxMessagesPerConnection(t *testing.T) {
	sink := outboxtest.NewSink(t)
	b := newBackend(t, sinkURL(sink, "tls=none&max_msgs=3"))
	for range 7 {
		send(t, b, envelope("a@example.com"))
	}
	if sink.Count() != 7 || sink.Connections() != 3 {
		t.Errorf("%d messages over %d connections, want 7 over 3 (at most 3 per connection)", sink.Count(), sink.Connections())
	}
}

// TestIdleConnectionHealthCheck: a connection idle past health_check is
// checked with NOOP; one the server closed meanwhile is replaced before
// the message is sent.
func TestIdleConnectionHealthCheck(t *testing.T) {
	sink := outboxtest.NewSink(t)
	b := newBackend(t, sinkURL(sink, "tls=none&health_check=10ms"))
	send(t, b, envelope("a@example.com"))
	sink.Stop()
	sink.Start()
	time.Sleep(20 * time.Millisecond)
	send(t, b, envelope("b@example.com"))
	if sink.Count() != 2 || sink.Connections() != 2 {
		t.Errorf("%d messages over %d connections, want 2 over 2", sink.Count(), sink.Connections())
	}
}

// forEachMode runs test against a sink that offers PIPELINING and
// CHUNKING (the message goes as BDAT in the commands' write), one that
// offers PIPELINING alone (DATA), and one that offers neither, for the
// backend to send one command at a time.
func forEachMode(t *testing.T, test func(t *testing.T, opts ...outboxtest.Option)) {
	t.Run("pipelined, BDAT", func(t *testing.T) { test(t) })
	t.Run("pipelined, DATA", func(t *testing.T) { test(t, outboxtest.WithoutChunking()) })
	t.Run("one by one", func(t *testing.T) { test(t, outboxtest.WithoutPipelining(), outboxtest.WithoutChunking()) })
}

func TestRecipientRefused(t *testing.T) {
	forEachMode(t, func(t *testing.T, opts ...outboxtest.Option) {
		sink := outboxtest.NewSink(t, opts...)
		sink.RejectRcpt("b@example.com", 550, "5.1.1", "no such user")
		b := newBackend(t, sinkURL(sink, "tls=none"))
		res := send(t, b, envelope("a@example.com", "b@example.com", "c@example.com"))
		want := []outbox.Class{outbox.ClassAccepted, outbox.ClassPermanent, outbox.ClassAccepted}
		for i, r := range res {
			if r.Class != want[i] || r.Addr != []string{"a@example.com", "b@example.com", "c@example.com"}[i] {
				t.Errorf("result %d = %+v, want %s", i, r, want[i])
			}
		}
		if r := res[1].Reply; r.Code != 550 || r.Enhanced != "5.1.1" || r.Text != "no such user" {
			t.Errorf("refused reply = %+v", r)
		}
		if m := sink.WaitFor(1, 5*time.Second)[0]; strings.Join(m.To, " ") != "a@example.com c@example.com" {
			t.Errorf("delivered to %q", m.To)
		}
	})
}

func TestTooManyRecipients(t *testing.T) {
	forEachMode(t, func(t *testing.T, opts ...outboxtest.Option) {
		sink := outboxtest.NewSink(t, opts...)
		sink.TooManyRecipientsAfter(2)
		b := newBackend(t, sinkURL(sink, "tls=none"))
		res := send(t, b, envelope("a@example.com", "b@example.com", "c@example.com", "d@example.com"))
		for i, r := range res {
			want := outbox.ClassAccepted
			if i >= 2 {
				want = outbox.ClassRetryNow
			}
			if r.Class != want {
				t.Errorf("result %d = %+v, want %s", i, r, want)
			}
		}
		if res[3].Reply.Code != 452 || res[3].Reply.Enhanced != "4.5.3" {
			t.Errorf("reply = %+v", res[3].Reply)
		}
	})
}

func TestEveryRecipientRefused(t *testing.T) {
	forEachMode(t, func(t *testing.T, opts ...outboxtest.Option) {
		sink := outboxtest.NewSink(t, opts...)
		b := newBackend(t, sinkURL(sink, "tls=none"))
		sink.RejectRcpt("", 550, "5.1.1", "no such user").Times(2)
		res := send(t, b, envelope("a@example.com", "b@example.com"))
		for _, r := range res {
			if r.Class != outbox.ClassPermanent {
				t.Errorf("result %+v, want permanent", r)
			}
		}
		send(t, b, envelope("c@example.com")) // the connection was reset and reused
		if sink.Count() != 1 || sink.Connections() != 1 {
			t.Errorf("%d messages over %d connections, want 1 over 1", sink.Count(), sink.Connections())
		}
	})
}

func TestTransactionRefused(t *testing.T) {
	forEachMode(t, func(t *testing.T, opts ...outboxtest.Option) {
		cases := []struct {
			name  string
			cue   func(*outboxtest.Sink)
			code  int
			class outbox.Class
			conns int // connections after a second, successful send
		}{
			{"data 451", func(s *outboxtest.Sink) { s.RejectData(451, "4.3.0", "try later").Times(1) }, 451, outbox.ClassTemporary, 1},
			{"data 554", func(s *outboxtest.Sink) { s.RejectData(554, "5.6.0", "spam").Times(1) }, 554, outbox.ClassPermanent, 1},
			{"mail 550", func(s *outboxtest.Sink) { s.RejectMail(550, "5.7.1", "relay denied").Times(1) }, 550, outbox.ClassPermanent, 1},
			{"rcpt 421", func(s *outboxtest.Sink) { s.RejectRcpt("", 421, "4.7.0", "slow down").Times(1) }, 421, outbox.ClassThrottled, 2},
			{"data 421", func(s *outboxtest.Sink) { s.RejectData(421, "4.3.2", "shutting down").Times(1) }, 421, outbox.ClassThrottled, 2},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				sink := outboxtest.NewSink(t, opts...)
				tc.cue(sink)
				b := newBackend(t, sinkURL(sink, "tls=none"))
				res, err := b.Send(context.Background(), envelope("a@example.com", "b@example.com"))
				c, r, isReply := class(err)
				if err == nil || !isReply || res != nil {
					t.Fatalf("Send = %v, %v; want a SendError", res, err)
				}
				if r.Code != tc.code || c != tc.class {
					t.Errorf("error %v: code %d class %s, want %d %s", err, r.Code, c, tc.code, tc.class)
				}
				send(t, b, envelope("a@example.com"))
				if sink.Count() != 1 || sink.Connections() != tc.conns {
					t.Errorf("%d messages over %d connections, want 1 over %d", sink.Count(), sink.Connections(), tc.conns)
				}
			})
		}
	})
}

func TestUpstreamDownThenBack(t *testing.T) {
	sink := outboxtest.NewSink(t)
	b := newBackend(t, sinkURL(sink, "tls=none"))
	send(t, b, envelope("a@example.com"))

	sink.Stop()
	_, err := b.Send(context.Background(), envelope("a@example.com"))
	if c, _, isReply := class(err); err == nil || isReply || c != outbox.ClassTemporary {
		t.Fatalf("Send while down = %v, want a plain temporary error", err)
	}

	sink.Start()
	send(t, b, envelope("a@example.com"))
	if sink.Count() != 2 || sink.Connections() != 2 {
		t.Errorf("%d messages over %d connections, want 2 over 2", sink.Count(), sink.Connections())
	}
}

func TestStaleConnectionReplaced(t *testing.T) {
	sink := outboxtest.NewSink(t)
	b := newBackend(t, sinkURL(sink, "tls=none"))
	send(t, b, envelope("a@example.com"))
	sink.Stop() // closes the idle connection under the backend
	sink.Start()
	send(t, b, envelope("a@example.com")) // no error: a fresh connection is dialed
	if sink.Count() != 2 || sink.Connections() != 2 {
		t.Errorf("%d messages over %d connections, want 2 over 2", sink.Count(), sink.Connections())
	}
}

func TestStartTLSRequired(t *testing.T) {
	sink := outboxtest.NewSink(t)
	b := newBackend(t, sinkURL(sink, "tls=starttls"))
	_, err := b.Send(context.Background(), envelope("a@example.com"))
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send = %v, want an error about STARTTLS", err)
	}
	if sink.Count() != 0 {
		t.Error("a message went out in clear text")
	}
}

func TestTLS(t *testing.T) {
	starttls := outboxtest.NewSink(t, outboxtest.WithStartTLS())
	implicit := outboxtest.NewSink(t, outboxtest.WithImplicitTLS())
	cases := []struct {
		name string
		sink *outboxtest.Sink
		url  string
		ok   bool
	}{
		{"starttls with ca", starttls, sinkURL(starttls, "tls=starttls&ca="+starttls.CAFile()), true},
		{"opportunistic with ca", starttls, sinkURL(starttls, "ca="+starttls.CAFile()), true},
		{"starttls, unknown certificate", starttls, sinkURL(starttls, "tls=starttls"), false},
		{"opportunistic, unknown certificate", starttls, sinkURL(starttls, ""), false},
		{"starttls, insecure_skip_verify", starttls, sinkURL(starttls, "tls=starttls&insecure_skip_verify=true"), true},
		{"implicit with ca", implicit, "smtps://" + implicit.Addr() + "?ca=" + implicit.CAFile(), true},
		{"implicit, unknown certificate", implicit, "smtps://" + implicit.Addr(), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.sink.Reset()
			b := newBackend(t, tc.url)
			_, err := b.Send(context.Background(), envelope("a@example.com"))
			if !tc.ok {
				if err == nil || !strings.Contains(err.Error(), "certificate") {
					t.Fatalf("Send = %v, want a certificate error", err)
				}
				if tc.sink.Count() != 0 {
					t.Fatal("a message went out over an unverified connection")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m := tc.sink.WaitFor(1, 5*time.Second)[0]; m.TLS == nil {
				t.Error("delivered without TLS")
			}
		})
	}
}

func TestAuth(t *testing.T) {
	cases := []struct {
		name, query string
		offered     []string
		want        string
	}{
		{"plain by default", "tls=none", nil, "PLAIN"},
		{"login when asked", "tls=none&auth=login", nil, "LOGIN"},
		{"login when alone", "tls=none", []string{"LOGIN"}, "LOGIN"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sink := outboxtest.NewSink(t, outboxtest.WithAuth("user@example.com", "p@ss word"), outboxtest.WithAuthMechanisms(tc.offered...))
			b := newBackend(t, "smtp://user%40example.com:p%40ss%20word@"+sink.Addr()+"?"+tc.query)
			send(t, b, envelope("a@example.com"))
			send(t, b, envelope("a@example.com"))
			msgs := sink.WaitFor(2, 5*time.Second)
			if m := msgs[1]; m.AuthUser != "user@example.com" || m.AuthMech != tc.want {
				t.Errorf("logged in as %q with %q, want %s", m.AuthUser, m.AuthMech, tc.want)
			}
			if sink.Connections() != 1 {
				t.Errorf("%d connections, want 1", sink.Connections())
			}
		})
	}

	t.Run("over starttls", func(t *testing.T) {
		sink := outboxtest.NewSink(t, outboxtest.WithStartTLS(), outboxtest.WithAuth("u", "p"))
		b := newBackend(t, "smtp://u:p@"+sink.Addr()+"?tls=starttls&ca="+sink.CAFile())
		send(t, b, envelope("a@example.com"))
		if m := sink.WaitFor(1, 5*time.Second)[0]; m.AuthUser != "u" || m.TLS == nil {
			t.Errorf("user %q, TLS %v", m.AuthUser, m.TLS != nil)
		}
	})

	t.Run("no supported mechanism", func(t *testing.T) {
		sink := outboxtest.NewSink(t, outboxtest.WithAuth("u", "p"), outboxtest.WithAuthMechanisms("CRAM-MD5"))
		b := newBackend(t, "smtp://u:p@"+sink.Addr()+"?tls=none")
		_, err := b.Send(context.Background(), envelope("a@example.com"))
		if err == nil || !strings.Contains(err.Error(), "offers AUTH CRAM-MD5") {
			t.Errorf("Send = %v, want an error naming the offered mechanisms", err)
		}
	})

	t.Run("wrong password", func(t *testing.T) {
		sink := outboxtest.NewSink(t, outboxtest.WithAuth("u", "p"))
		b := newBackend(t, "smtp://u:wrong@"+sink.Addr()+"?tls=none")
		_, err := b.Send(context.Background(), envelope("a@example.com"))
		c, r, isReply := class(err)
		// Temporary: bad credentials hold mail until fixed instead of failing it.
		if !isReply || r.Code != 535 || c != outbox.ClassTemporary {
			t.Errorf("Send = %v (class %s), want a temporary SendError with 535", err, c)
		}
	})
}

func TestSMTPUTF8(t *testing.T) {
	utf8Env := envelope("jörg@example.com")
	utf8Env.UTF8 = true
	flagged := envelope("a@example.com")
	flagged.UTF8 = true
	unflagged := envelope("jörg@example.com") // non-ASCII address without the flag

	t.Run("unsupported", func(t *testing.T) {
		sink := outboxtest.NewSink(t, outboxtest.WithSMTPUTF8(false))
		b := newBackend(t, sinkURL(sink, "tls=none"))
		send(t, b, envelope("a@example.com"))
		for _, e := range []*outbox.Envelope{utf8Env, flagged, unflagged} {
			_, err := b.Send(context.Background(), e)
			c, r, _ := class(err)
			if c != outbox.ClassPermanent || !strings.Contains(r.Text, "does not support SMTPUTF8") {
				t.Errorf("Send(%q) = %v (class %s), want a permanent SMTPUTF8 error", e.To, err, c)
			}
		}
		send(t, b, envelope("a@example.com"))
		if sink.Count() != 2 || sink.Connections() != 1 {
			t.Errorf("%d messages over %d connections, want 2 over 1", sink.Count(), sink.Connections())
		}
	})

	t.Run("supported", func(t *testing.T) {
		sink := outboxtest.NewSink(t)
		b := newBackend(t, sinkURL(sink, "tls=none"))
		for _, e := range []*outbox.Envelope{utf8Env, unflagged} {
			send(t, b, e)
		}
		for _, m := range sink.WaitFor(2, 5*time.Second) {
			if !m.UTF8 || m.To[0] != "jörg@example.com" {
				t.Errorf("delivered with SMTPUTF8=%v to %q", m.UTF8, m.To)
			}
		}
	})
}

func TestTimeouts(t *testing.T) {
	t.Run("command timeout", func(t *testing.T) {
		sink := outboxtest.NewSink(t, outboxtest.WithoutChunking())
		b := newBackend(t, sinkURL(sink, "tls=none&timeout=200ms"))
		sink.Delay(3 * time.Second)
		_, err := b.Send(context.Background(), envelope("a@example.com"))
		var ne net.Error
		if c, _, isReply := class(err); isReply || c != outbox.ClassTemporary || !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("Send = %v, want a plain timeout error", err)
		}
	})

	// With BDAT the message went with the commands: every reply waits
	// data_timeout, and one that never comes may hide a message taken.
	t.Run("BDAT waits data_timeout", func(t *testing.T) {
		sink := outboxtest.NewSink(t)
		b := newBackend(t, sinkURL(sink, "tls=none&timeout=100ms&data_timeout=5s"))
		sink.Delay(200 * time.Millisecond)
		send(t, b, envelope("a@example.com"))
	})
	t.Run("BDAT reply timeout", func(t *testing.T) {
		sink := outboxtest.NewSink(t)
		b := newBackend(t, sinkURL(sink, "tls=none&timeout=100ms&data_timeout=200ms"))
		send(t, b, envelope("a@example.com")) // a pooled connection
		sink.Delay(time.Second)
		_, err := b.Send(context.Background(), envelope("a@example.com"))
		if c, _, isReply := class(err); err == nil || isReply || c != outbox.ClassTemporary || !errors.Is(err, outbox.ErrMayHaveAccepted) {
			t.Fatalf("Send = %v, want a temporary error warning of a possible duplicate", err)
		}
		if n := sink.Connections(); n != 1 {
			t.Errorf("%d connections: the message was sent again at once, want 1", n)
		}
	})

	forEachMode(t, func(t *testing.T, opts ...outboxtest.Option) {
		t.Run("context deadline", func(t *testing.T) {
			sink := outboxtest.NewSink(t, opts...)
			b := newBackend(t, sinkURL(sink, "tls=none"))
			send(t, b, envelope("a@example.com")) // a pooled connection
			sink.Delay(3 * time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			_, err := b.Send(ctx, envelope("a@example.com"))
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("Send = %v, want context.DeadlineExceeded", err)
			}
			if len(opts) == 0 && !errors.Is(err, outbox.ErrMayHaveAccepted) {
				t.Errorf("BDAT: error %q does not warn of a possible duplicate", err)
			}
			sink.Delay(0)
			send(t, b, envelope("a@example.com"))
		})
	})

	t.Run("cancel while waiting for a connection", func(t *testing.T) {
		sink := outboxtest.NewSink(t)
		b := newBackend(t, sinkURL(sink, "tls=none&max_conns=1"))
		sink.Delay(300 * time.Millisecond) // per reply: the first Send holds the connection ~1 s
		busy := make(chan error, 1)
		go func() { _, err := b.Send(context.Background(), envelope("a@example.com")); busy <- err }()
		waitUntil(t, func() bool { return sink.Connections() == 1 }, "the first Send to connect")
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(50*time.Millisecond, cancel)
		if _, err := b.Send(ctx, envelope("b@example.com")); !errors.Is(err, context.Canceled) {
			t.Fatalf("Send = %v, want context.Canceled", err)
		}
		if err := <-busy; err != nil {
			t.Errorf("the first Send: %v", err)
		}
	})
}

func TestCutAfterData(t *testing.T) {
	forEachMode(t, func(t *testing.T, opts ...outboxtest.Option) {
		sink := outboxtest.NewSink(t, opts...)
		sink.CutAfterData().Times(1)
		b := newBackend(t, sinkURL(sink, "tls=none"))
		_, err := b.Send(context.Background(), envelope("a@example.com"))
		if c, _, isReply := class(err); err == nil || isReply || c != outbox.ClassTemporary {
			t.Fatalf("Send = %v, want a plain temporary error", err)
		}
		if !errors.Is(err, outbox.ErrMayHaveAccepted) || !strings.Contains(err.Error(), "may have accepted") {
			t.Errorf("error %q does not warn of a possible duplicate", err)
		}
		send(t, b, envelope("a@example.com"))
	})
}

func TestConcurrentSends(t *testing.T) {
	sink := outboxtest.NewSink(t)
	b := newBackend(t, sinkURL(sink, "tls=none&max_conns=3"))
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			e := envelope(fmt.Sprintf("r%d@example.com", i))
			if _, err := b.Send(context.Background(), e); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if sink.Count() != 20 || sink.Connections() > 3 {
		t.Errorf("%d messages over %d connections, want 20 over at most 3", sink.Count(), sink.Connections())
	}
}

func TestIdleTimeout(t *testing.T) {
	sink := outboxtest.NewSink(t)
	b := newBackend(t, sinkURL(sink, "tls=none&idle_timeout=50ms"))
	send(t, b, envelope("a@example.com"))
	waitUntil(t, func() bool { return sink.OpenConnections() == 0 }, "the idle connection to close")
	send(t, b, envelope("a@example.com"))
	if sink.Connections() != 2 {
		t.Errorf("%d connections, want 2", sink.Connections())
	}
}

func TestClose(t *testing.T) {
	sink := outboxtest.NewSink(t)
	b := newBackend(t, sinkURL(sink, "tls=none"))
	send(t, b, envelope("a@example.com"))
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, func() bool { return sink.OpenConnections() == 0 }, "Close to close the connection")
	if _, err := b.Send(context.Background(), envelope("a@example.com")); !errors.Is(err, smtp.ErrClosed) {
		t.Errorf("Send after Close = %v, want ErrClosed", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// waitUntil polls cond for up to 5 s, failing the test if it stays false.
func waitUntil(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}
