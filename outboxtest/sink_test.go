package outboxtest_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/outboxmail/outbox/outboxtest"
)

const body = "From: a@example.com\r\nTo: b@example.com\r\nSubject: hi\r\n\r\nHello.\r\n.leading dot\r\n"

// dial connects a go-smtp client to the sink and says EHLO.
func dial(t *testing.T, s *outboxtest.Sink) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(s.Addr())
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.test"); err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	return c
}

// send runs one transaction and returns the first error.
func send(c *smtp.Client, from string, to []string, data string) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, r := range to {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(data)); err != nil {
		return err
	}
	return w.Close()
}

func code(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestSinkRecords(t *testing.T) {
	s := outboxtest.NewSink(t)
	c := dial(t, s)
	if err := send(c, "a@example.com", []string{"b@example.com", "c@example.com"}, body); err != nil {
		t.Fatal(err)
	}
	msgs := s.WaitFor(1, 5*time.Second)
	m := msgs[0]
	if m.From != "a@example.com" || strings.Join(m.To, ",") != "b@example.com,c@example.com" {
		t.Errorf("envelope = %q %q", m.From, m.To)
	}
	if string(m.Data) != body {
		t.Errorf("data = %q, want %q", m.Data, body)
	}
	if m.Hello != "client.test" || m.TLS != nil || m.AuthUser != "" || m.Body != "8BITMIME" {
		t.Errorf("session = %+v", m)
	}
	if s.Count() != 1 || s.Connections() != 1 || s.Transactions() != 1 {
		t.Errorf("count %d connections %d transactions %d", s.Count(), s.Connections(), s.Transactions())
	}
	s.Reset()
	if s.Count() != 0 || len(s.Messages()) != 0 {
		t.Errorf("after Reset: %d messages", s.Count())
	}
}

func TestSinkCues(t *testing.T) {
	s := outboxtest.NewSink(t)
	c := dial(t, s)

	once := s.RejectRcpt("B@example.com", 452, "4.2.2", "mailbox full").Times(1)
	sticky := s.RejectRcpt("x@example.com", 550, "5.1.1", "no such user")
	for i := range 2 {
		if err := c.Mail("a@example.com", nil); err != nil {
			t.Fatal(err)
		}
		errB := c.Rcpt("b@example.com", nil)
		errX := c.Rcpt("x@example.com", nil)
		if want := []int{452, 0}[i]; code(errB) != want {
			t.Errorf("round %d: b: %v, want %d", i, errB, want)
		}
		if code(errX) != 550 || !strings.Contains(errX.Error(), "no such user") {
			t.Errorf("round %d: x: %v, want 550", i, errX)
		}
		if err := c.Reset(); err != nil {
			t.Fatal(err)
		}
	}
	if once.Hits() != 1 || sticky.Hits() != 2 {
		t.Errorf("hits = %d, %d", once.Hits(), sticky.Hits())
	}

	s.ClearCues()
	s.TooManyRecipientsAfter(2)
	if err := c.Mail("a@example.com", nil); err != nil {
		t.Fatal(err)
	}
	var codes []int
	for _, r := range []string{"1@x", "2@x", "3@x", "4@x"} {
		codes = append(codes, code(c.Rcpt(r, nil)))
	}
	if want := []int{0, 0, 452, 452}; !slices.Equal(codes, want) {
		t.Errorf("RCPT codes = %v, want %v", codes, want)
	}
	_ = c.Reset()

	s.ClearCues()
	s.RejectMail(550, "5.7.1", "sender refused").Times(1)
	if err := c.Mail("a@example.com", nil); code(err) != 550 {
		t.Errorf("MAIL: %v, want 550", err)
	}
	s.RejectData(451, "4.3.0", "try later").Times(1)
	if err := send(c, "a@example.com", []string{"b@x"}, body); code(err) != 451 {
		t.Errorf("DATA: %v, want 451", err)
	}
	if err := send(c, "a@example.com", []string{"b@x"}, body); err != nil {
		t.Errorf("after the cues: %v", err)
	}
	if s.Count() != 1 {
		t.Errorf("recorded %d messages, want only the accepted one", s.Count())
	}
}

func TestSink421ClosesConnection(t *testing.T) {
	s := outboxtest.NewSink(t)
	c := dial(t, s)
	s.RejectRcpt("", 421, "4.7.0", "slow down")
	if err := c.Mail("a@example.com", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("b@x", nil); code(err) != 421 {
		t.Fatalf("RCPT: %v, want 421", err)
	}
	if err := c.Noop(); err == nil {
		t.Error("NOOP after 421 succeeded; the connection should be closed")
	}
}

func TestSinkCutAfterData(t *testing.T) {
	s := outboxtest.NewSink(t)
	c := dial(t, s)
	s.CutAfterData().Times(1)
	err := send(c, "a@example.com", []string{"b@x"}, body)
	if err == nil || code(err) != 0 {
		t.Fatalf("send = %v, want a network error", err)
	}
	if s.Count() != 0 {
		t.Errorf("the cut message was recorded")
	}
	c2 := dial(t, s)
	if err := send(c2, "a@example.com", []string{"b@x"}, body); err != nil {
		t.Fatal(err)
	}
}

func TestSinkStopStart(t *testing.T) {
	s := outboxtest.NewSink(t)
	addr := s.Addr()
	c := dial(t, s)
	s.Stop()
	if err := c.Noop(); err == nil {
		t.Error("connection survived Stop")
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("dial succeeded while stopped")
	}
	s.Stop() // idempotent
	s.Start()
	if s.Addr() != addr {
		t.Fatalf("address changed: %s -> %s", addr, s.Addr())
	}
	if err := send(dial(t, s), "a@example.com", []string{"b@x"}, body); err != nil {
		t.Fatal(err)
	}
	if s.Connections() != 2 || s.OpenConnections() != 1 {
		t.Errorf("connections = %d, open = %d, want 2 and 1", s.Connections(), s.OpenConnections())
	}
}

func TestSinkDelayCutShortByStop(t *testing.T) {
	s := outboxtest.NewSink(t)
	c := dial(t, s)
	s.Delay(time.Hour)
	done := make(chan error, 1)
	go func() { done <- c.Mail("a@example.com", nil) }()
	time.Sleep(20 * time.Millisecond)
	s.Stop()
	select {
	case err := <-done:
		if err == nil {
			t.Error("MAIL succeeded")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not cut the delay short")
	}
}

func TestSinkStartTLS(t *testing.T) {
	s := outboxtest.NewSink(t, outboxtest.WithStartTLS())
	c, err := smtp.DialStartTLS(s.Addr(), &tls.Config{RootCAs: s.CertPool()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := send(c, "a@example.com", []string{"b@x"}, body); err != nil {
		t.Fatal(err)
	}
	if m := s.WaitFor(1, 5*time.Second)[0]; m.TLS == nil || !m.TLS.HandshakeComplete {
		t.Errorf("TLS state not recorded: %+v", m.TLS)
	}
	if !bytes.Contains(s.CertPEM(), []byte("BEGIN CERTIFICATE")) || s.CAFile() == "" {
		t.Error("no certificate exposed")
	}
}

func TestSinkImplicitTLS(t *testing.T) {
	s := outboxtest.NewSink(t, outboxtest.WithImplicitTLS())
	c, err := smtp.DialTLS(s.Addr(), &tls.Config{RootCAs: s.CertPool()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := send(c, "a@example.com", []string{"b@x"}, body); err != nil {
		t.Fatal(err)
	}
	if m := s.WaitFor(1, 5*time.Second)[0]; m.TLS == nil {
		t.Error("TLS state not recorded")
	}
}

func TestSinkAuth(t *testing.T) {
	for _, mech := range []string{sasl.Plain, sasl.Login} {
		t.Run(mech, func(t *testing.T) {
			s := outboxtest.NewSink(t, outboxtest.WithAuth("user", "secret"), outboxtest.WithAuthMechanisms(mech))
			c := dial(t, s)
			if ok, mechs := c.Extension("AUTH"); !ok || mechs != mech {
				t.Fatalf("AUTH offered = %v %q", ok, mechs)
			}
			if err := c.Mail("a@example.com", nil); code(err) != 530 {
				t.Fatalf("MAIL before AUTH: %v, want 530", err)
			}
			client := map[string]func(u, p string) sasl.Client{
				sasl.Plain: func(u, p string) sasl.Client { return sasl.NewPlainClient("", u, p) },
				sasl.Login: sasl.NewLoginClient,
			}[mech]
			if err := c.Auth(client("user", "wrong")); code(err) != 535 {
				t.Fatalf("bad password: %v, want 535", err)
			}
			if err := c.Auth(client("user", "secret")); err != nil {
				t.Fatal(err)
			}
			if err := send(c, "a@example.com", []string{"b@x"}, body); err != nil {
				t.Fatal(err)
			}
			if m := s.WaitFor(1, 5*time.Second)[0]; m.AuthUser != "user" || m.AuthMech != mech {
				t.Errorf("AuthUser = %q, AuthMech = %q", m.AuthUser, m.AuthMech)
			}
		})
	}
}

func TestSinkSMTPUTF8AndSize(t *testing.T) {
	s := outboxtest.NewSink(t, outboxtest.WithSMTPUTF8(false), outboxtest.WithMaxMessageBytes(100))
	c := dial(t, s)
	if ok, _ := c.Extension("SMTPUTF8"); ok {
		t.Error("SMTPUTF8 advertised")
	}
	if ok, size := c.Extension("SIZE"); !ok || size != "100" {
		t.Errorf("SIZE = %v %q", ok, size)
	}
	err := send(c, "a@example.com", []string{"b@x"}, body+strings.Repeat("x", 200)+"\r\n")
	if code(err) != 552 {
		t.Errorf("oversized: %v, want 552", err)
	}

	u := outboxtest.NewSink(t)
	cu := dial(t, u)
	if err := cu.Mail("jörg@example.com", &smtp.MailOptions{UTF8: true}); err != nil {
		t.Fatalf("SMTPUTF8 MAIL: %v", err)
	}
}

func TestSinkConcurrent(t *testing.T) {
	s := outboxtest.NewSink(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			c, err := smtp.Dial(s.Addr())
			if err != nil {
				t.Error(err)
				return
			}
			defer c.Close()
			for range 5 {
				if err := send(c, "a@example.com", []string{"b@x"}, body); err != nil {
					t.Error(err)
				}
			}
		})
	}
	msgs := s.WaitFor(40, 10*time.Second)
	wg.Wait()
	if len(msgs) != 40 || s.Connections() != 8 {
		t.Errorf("%d messages over %d connections", len(msgs), s.Connections())
	}
}

func TestSinkWithoutPipeliningOrChunking(t *testing.T) {
	for _, tc := range []struct {
		ext string
		opt outboxtest.Option
	}{{"PIPELINING", outboxtest.WithoutPipelining()}, {"CHUNKING", outboxtest.WithoutChunking()}} {
		for _, off := range []bool{false, true} {
			var opts []outboxtest.Option
			if off {
				opts = append(opts, tc.opt)
			}
			s := outboxtest.NewSink(t, opts...)
			c := dial(t, s)
			if got, _ := c.Extension(tc.ext); got == off {
				t.Errorf("without %s %v: offered %v", tc.ext, off, got)
			}
			if ok, _ := c.Extension("8BITMIME"); !ok {
				t.Errorf("without %s %v: the rest of the EHLO reply is lost", tc.ext, off)
			}
			if err := send(c, "a@example.com", []string{"b@example.com"}, body); err != nil {
				t.Errorf("without %s %v: send: %v", tc.ext, off, err)
			}
		}
	}
}
