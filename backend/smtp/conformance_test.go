package smtp_test

import (
	"bytes"
	"testing"

	"github.com/outboxmail/outbox/backendtest"
	"github.com/outboxmail/outbox/outboxtest"
)

func TestConformance(t *testing.T) {
	forEachMode(t, func(t *testing.T, opts ...outboxtest.Option) {
		backendtest.Run(t, func(t *testing.T) backendtest.Target {
			sink := outboxtest.NewSink(t, opts...)
			return backendtest.Target{
				Backend:     newBackend(t, sinkURL(sink, "tls=none")),
				Connections: sink.Connections,
				Received:    func(id string) int { return count(sink, id) },
			}
		})
	})
}

// count returns how many messages the sink holds with Message-ID id.
func count(s *outboxtest.Sink, id string) int {
	n := 0
	for _, m := range s.Messages() {
		if bytes.Contains(m.Data, []byte("Message-ID: "+id+"\r\n")) {
			n++
		}
	}
	return n
}
