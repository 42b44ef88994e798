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

func TestDatabaseSettings(t *testing.T) {
	s := openTest(t)
	for pragma, want := range map[string]string{
		"journal_mode": "wal", "synchronous": "1", "page_size": "16384", "wal_autocheckpoint": "0",
	} {
		var got string
		err := s.w.do(context.Background(), func(tx *tx) error {
			return tx.QueryRowContext(context.Background(), "PRAGMA "+pragma).Scan(&got)
		})
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}
