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

// TestWritesShareTheCommitWhileSyncing: requests that come while an
// earlier commit is still being synced join the open transaction, and
// commit once the syncer is free.
func TestWritesShareTheCommitWhileSyncing(t *testing.T) {
	s := openTest(t)
	now := time.Now()
	s.w.sync.pending.Add(1) // an earlier commit still syncing
	before, ran := s.Commits(), s.w.ran.Load()
	const callers = 5
	errs := make(chan error, callers)
	for i := range callers {
		go func() {
			_, err := s.Enqueue(context.Background(), []*outbox.Record{newTestRecord(i, now)})
			errs <- err
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.w.ran.Load()-ran < callers { // every request ran in the open transaction
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d requests ran while the syncer was busy", s.w.ran.Load()-ran, callers)
		}
		time.Sleep(time.Millisecond)
	}
	if s.Commits() != before {
		t.Fatal("committed while the syncer was busy")
	}
	s.w.sync.pending.Add(-1)
	select { // a token already waiting (a real sync's) wakes the writer as well
	case s.w.sync.ready <- struct{}{}:
	default:
	}
	for range callers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if got := s.Commits() - before; got != 1 {
		t.Errorf("%d commits for %d requests that came while syncing, want 1", got, callers)
	}
}
