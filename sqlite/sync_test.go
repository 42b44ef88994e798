package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// TestSyncAnswersAfterFsync: a committed group is answered by the syncer,
// which has the WAL file open once the first write is answered.
func TestSyncAnswersAfterFsync(t *testing.T) {
	s := openTest(t)
	res, err := s.Enqueue(context.Background(), []*outbox.Record{newTestRecord(1, time.Now())})
	if err != nil || res[0].Err != nil {
		t.Fatalf("enqueue: %v %v", err, res)
	}
	if s.w.sync.file == nil {
		t.Fatal("write answered before the syncer opened (and synced) the WAL file")
	}
	if got, want := s.w.sync.file.Name(), filepath.Join(s.Dir(), dbName)+"-wal"; got != want {
		t.Errorf("syncer syncs %s, want %s", got, want)
	}
}

// TestSyncFailureIsSticky: a failed fsync fails its group's callers and
// every write after it, without running them.
func TestSyncFailureIsSticky(t *testing.T) {
	sy := newSyncer(filepath.Join(t.TempDir(), "missing.db"))
	defer sy.stop()
	for i := range 2 {
		r := &request{done: make(chan struct{})}
		sy.add([]*request{r})
		<-r.done
		if r.err == nil {
			t.Fatalf("group %d answered without error after a failed sync", i)
		}
	}
	if sy.failed() == nil {
		t.Fatal("failed() is nil after a failed sync")
	}

	s := openTest(t)
	s.w.sync.mu.Lock()
	s.w.sync.err = errors.New("sync failed")
	s.w.sync.mu.Unlock()
	before := s.Commits()
	_, err := s.Enqueue(context.Background(), []*outbox.Record{newTestRecord(1, time.Now())})
	if err == nil {
		t.Fatal("enqueue succeeded after a failed sync")
	}
	if s.Commits() != before {
		t.Errorf("the writer committed %d groups after a failed sync", s.Commits()-before)
	}
}
