package backendtest

import (
	"bytes"
	"net/url"
	"testing"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend/memory"
	"github.com/outboxmail/outbox/backend/smtp"
	"github.com/outboxmail/outbox/outboxtest"
)

// RunChain runs the suite on a combinator that gives each message to one
// of its children (failover, roundrobin): build wraps two children, an
// SMTP sink on 127.0.0.1 and a memory backend, and every message must
// reach exactly one of them, once.
func RunChain(t *testing.T, build func(children []outbox.Child) (outbox.Backend, error)) {
	Run(t, func(t *testing.T) Target {
		sink := outboxtest.NewSink(t)
		u, _ := url.Parse("smtp://" + sink.Addr() + "?tls=none")
		s, err := smtp.FromURL(u)
		if err != nil {
			t.Fatal(err)
		}
		mem := memory.New(memory.Config{})
		b, err := build([]outbox.Child{{Name: u.String(), Backend: s}, {Name: "memory:", Backend: mem}})
		if err != nil {
			t.Fatal(err)
		}
		return Target{
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
