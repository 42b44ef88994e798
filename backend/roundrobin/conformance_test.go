package roundrobin_test

import (
	"testing"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend/roundrobin"
	"github.com/outboxmail/outbox/backendtest"
)

// TestConformance: a roundrobin of an SMTP sink and a memory backend. Each
// message must reach exactly one of them once.
func TestConformance(t *testing.T) {
	backendtest.RunChain(t, func(children []outbox.Child) (outbox.Backend, error) {
		return roundrobin.New(roundrobin.Config{Children: children})
	})
}
