package fanout_test

import (
	"bytes"
	"net/url"
	"testing"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend/fanout"
	"github.com/outboxmail/outbox/backend/memory"
	"github.com/outboxmail/outbox/backend/smtp"
	"github.com/outboxmail/outbox/backendtest"
	"github.com/outboxmail/outbox/outboxtest"
)

// TestConformance: a fanout of an SMTP sink and a memory backend. Each
// message must reach each child once; Received reports -1 when the
// children disagree.
func TestConformance(t *testing.T) {
	for _, require := range []fanout.Policy{fanout.RequirePrimary, fanout.RequireAll, fanout.RequireAny} {
		t.Run(string(require), func(t *testing.T) {
			backendtest.Run(t, func(t *testing.T) backendtest.Target {
				sink := outboxtest.NewSink(t)
				u, _ := url.Parse("smtp://" + sink.Addr() + "?tls=none")
				s, err := smtp.FromURL(u)
				if err != nil {
					t.Fatal(err)
				}
				mem := memory.New(memory.Config{})
				b, err := fanout.New(fanout.Config{Require: require, Children: []outbox.Child{
					{Name: u.String(), Backend: s}, {Name: "memory:", Backend: mem},
				}})
				if err != nil {
					t.Fatal(err)
				}
				return backendtest.Target{
					Backend:     b,
					Connections: sink.Connections,
					Received: func(id string) int {
						n, m := sinkCount(sink, id), memCount(mem, id)
						if n != m {
							return -1
						}
						return n
					},
				}
			})
		})
	}
}

func sinkCount(s *outboxtest.Sink, id string) int {
	n := 0
	for _, m := range s.Messages() {
		if bytes.Contains(m.Data, []byte("Message-ID: "+id+"\r\n")) {
			n++
		}
	}
	return n
}

func memCount(b *memory.Backend, id string) int {
	n := 0
	for _, m := range b.Messages() {
		if m.MessageID == id {
			n++
		}
	}
	return n
}
