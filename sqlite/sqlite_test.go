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
	return openTestDir(t, t.TempDir())
}

// openTestDir opens a store in dir, closed with the test.
func openTestDir(t testing.TB, dir string) *Store {
	t.Helper()
	s, err := Open(context.Background(), Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) outbox.Store { return openTest(t) })
}
