package failover_test

import (
	"testing"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend/failover"
	"github.com/outboxmail/outbox/backendtest"
)

// TestConformance: a failover of an SMTP sink and a memory backend. Each
// message must reach exactly one of them once.
func TestConformance(t *testing.T) {
	backendtest.RunChain(t, func(children []outbox.Child) (outbox.Backend, error) {
		return failover.New(failover.Config{Children: children})
	})
}
