package roundrobin_test

import (
	"bytes"
	"net/url"
	"testing"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend/memory"
	"github.com/outboxmail/outbox/backend/roundrobin"
	"github.com/outboxmail/outbox/backend/smtp"
	"github.com/outboxmail/outbox/backendtest"
	"github.com/outboxmail/outbox/outboxtest"
)

// TestConformance: a roundrobin of an SMTP sink and a memory backend. Each
// message must reach exactly one of them once.
func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backendtest.Target {
		sink := outboxtest.NewSink(t)
		u, _ := url.Parse("smtp://" + sink.Addr() + "?tls=none")
		s, err := smtp.FromURL(u)
		if err != nil {
			t.Fatal(err)
		}
		mem := memory.New(memory.Config{})
		b, err := roundrobin.New(roundrobin.Config{Children: []outbox.Child{
			{Name: u.String(), Backend: s}, {Name: "memory:", Backend: mem},
		}})
		if err != nil {
			t.Fatal(err)
		}
		return backendtest.Target{
			Backend:     b,
			Connections: sink.Connections,
			Received: func(id string) int {
				n := 0
				for _, m := range sink.Messages() {
					if bytes.Contains(m.Data, []byte("Message-ID: "+id+"\r\n")) {
						n++
					}
				}
				for _, m := range mem.Messages() {
					if m.MessageID == id {
						n++
					}
				}
				return n
			},
		}
	})
}
