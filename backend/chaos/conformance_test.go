package chaos_test

import (
	"net/url"
	"testing"

	"github.com/outboxmail/outbox/backend/chaos"
	"github.com/outboxmail/outbox/backend/smtp"
	"github.com/outboxmail/outbox/backendtest"
	"github.com/outboxmail/outbox/outboxtest"
)

// TestConformance: chaos with every probability zero is transparent.
func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backendtest.Target {
		sink := outboxtest.NewSink(t)
		u, _ := url.Parse("smtp://" + sink.Addr() + "?tls=none")
		s, err := smtp.FromURL(u)
		if err != nil {
			t.Fatal(err)
		}
		b, err := chaos.New(chaos.Config{Child: s})
		if err != nil {
			t.Fatal(err)
		}
		return backendtest.Target{
			Backend:     b,
			Connections: sink.Connections,
			Received: func(id string) int {
				n := 0
				for _, m := range sink.Messages() {
					if contains(m.Data, id) {
						n++
					}
				}
				return n
			},
		}
	})
}
