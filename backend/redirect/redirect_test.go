package redirect_test

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend"
	"github.com/outboxmail/outbox/backend/memory"
	"github.com/outboxmail/outbox/backend/redirect"
	"github.com/outboxmail/outbox/backendtest"
)

// envelope renders a message with to, cc and bcc recipients as the
// client would, and returns its envelope.
func envelope(t *testing.T) *outbox.Envelope {
	t.Helper()
	m := &outbox.Message{
		From: outbox.Address{Addr: "app@example.com"}, Subject: "Your invoice", Text: "Hello",
		To:  []outbox.Address{{Addr: "customer@example.org"}},
		Cc:  []outbox.Address{{Addr: "accounts@example.net"}, {Addr: "dev@staging.example.com"}},
		Bcc: []outbox.Address{{Addr: "audit@example.org"}},
	}
	r, err := outbox.Render(m, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return &outbox.Envelope{ID: 1, MessageID: r.MessageID, From: r.From, To: r.Recipients, Data: r.Data}
}

// TestStagingRedirectsEveryRecipient: to, cc and bcc are all redirected
// except the allowed domain; the originals are in a header and in each
// recipient's answer.
func TestStagingRedirectsEveryRecipient(t *testing.T) {
	mem := memory.New(memory.Config{})
	b, err := redirect.New(mem, redirect.Config{To: []string{"qa@example.com"}, Allow: []string{"@staging.example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	e := envelope(t)
	res, err := b.Send(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	got := mem.Messages()
	if len(got) != 2 || strings.Join(got[0].To, " ") != "dev@staging.example.com" || strings.Join(got[1].To, " ") != "qa@example.com" {
		t.Fatalf("delivered %d transactions, want the allowed recipient alone, then qa@example.com", len(got))
	}
	if !bytes.Equal(got[0].Data, e.Data) {
		t.Error("the allowed recipient did not get the message unchanged")
	}
	if bytes.Contains(got[0].Data, []byte("audit@example.org")) {
		t.Error("the Bcc recipient leaked to the allowed recipient")
	}
	hdr := string(got[1].Data[:strings.Index(string(got[1].Data), "\r\n\r\n")])
	for _, a := range e.To {
		if !strings.Contains(hdr, a) {
			t.Errorf("header section of the redirected copy does not keep %s:\n%s", a, hdr)
		}
	}
	if !strings.HasPrefix(hdr, "X-Outbox-Original-Recipients: customer@example.org,") {
		t.Errorf("header section starts %q", hdr[:60])
	}
	if len(res) != len(e.To) {
		t.Fatalf("%d results for %d recipients", len(res), len(e.To))
	}
	for i, r := range res {
		if r.Addr != e.To[i] || r.Class != outbox.ClassAccepted {
			t.Errorf("result %d = %+v", i, r)
		}
		redirected := strings.Contains(r.Reply.Text, "redirected to qa@example.com")
		if redirected == strings.HasSuffix(r.Addr, "@staging.example.com") {
			t.Errorf("result %+v: redirected=%v", r, redirected)
		}
	}
}

// TestProductionDoesNotRedirect: without the wrapper (the production
// profile) every recipient gets the message unchanged; with it, every
// plain backend inside a combined one is wrapped.
func TestProductionDoesNotRedirect(t *testing.T) {
	mem := memory.New(memory.Config{})
	schemes := backend.Schemes{"memory": func(*url.URL) (outbox.Backend, error) { return mem, nil }}
	e := envelope(t)
	for _, staging := range []bool{false, true} {
		mem.Reset()
		s := schemes
		if staging {
			s = redirect.Wrap(schemes, redirect.Config{To: []string{"qa@example.com"}})
		}
		b, err := backend.Parse("fanout(memory: memory:)", nil, s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.Send(context.Background(), e); err != nil {
			t.Fatal(err)
		}
		for _, m := range mem.Messages() {
			redirected := strings.Join(m.To, " ") == "qa@example.com"
			if redirected != staging || staging == (string(m.Data) == string(e.Data)) {
				t.Errorf("staging=%v: delivered to %v", staging, m.To)
			}
		}
		if mem.Len() != 2 {
			t.Errorf("staging=%v: %d deliveries, want 2", staging, mem.Len())
		}
	}
}

func TestBadConfig(t *testing.T) {
	mem := memory.New(memory.Config{})
	for _, cfg := range []redirect.Config{{}, {To: []string{"not an address"}}, {To: []string{"qa@example.com"}, Allow: []string{"a,b"}}} {
		if _, err := redirect.New(mem, cfg); err == nil {
			t.Errorf("New(%+v) succeeded", cfg)
		}
	}
}

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backendtest.Target {
		mem := memory.New(memory.Config{})
		b, err := redirect.New(mem, redirect.Config{To: []string{"qa@example.com"}})
		if err != nil {
			t.Fatal(err)
		}
		return backendtest.Target{Backend: b, Received: func(id string) int {
			n := 0
			for _, m := range mem.Messages() {
				if m.MessageID == id {
					n++
				}
			}
			return n
		}}
	})
}
