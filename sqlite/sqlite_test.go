package sqlite

import (
	"context"
	"testing"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/storetest"
)

// openTest opens a store in a fresh directory, closed with the test.
func openTest(t testing.TB) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) outbox.Store { return openTest(t) })
}
