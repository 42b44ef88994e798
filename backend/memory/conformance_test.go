package memory_test

import (
	"testing"

	"github.com/outboxmail/outbox/backend/memory"
	"github.com/outboxmail/outbox/backendtest"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backendtest.Target {
		b := memory.New(memory.Config{})
		return backendtest.Target{Backend: b, Received: func(id string) int { return count(b, id) }}
	})
}

// count returns how many kept messages have Message-ID id.
func count(b *memory.Backend, id string) int {
	n := 0
	for _, m := range b.Messages() {
		if m.MessageID == id {
			n++
		}
	}
	return n
}
