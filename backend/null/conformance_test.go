package null_test

import (
	"testing"

	"github.com/outboxmail/outbox/backend/null"
	"github.com/outboxmail/outbox/backendtest"
)

func TestConformance(t *testing.T) {
	backendtest.Run(t, func(t *testing.T) backendtest.Target {
		return backendtest.Target{Backend: null.New()}
	})
}
