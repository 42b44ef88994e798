package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// TestSyncAnswersAfterFsync: the syncer holds the store's WAL file from
// the start (no syncer without one), and a write is answered through it.
func TestSyncAnswersAfterFsync(t *testing.T) {
	s := openTest(t)
	if got, want := s.w.sync.file.Name(), filepath.Join(s.Dir(), dbName)+"-wal"; got != want {
		t.Errorf("syncer syncs %s, want %s", got, want)
	}
	res, err := s.Enqueue(context.Background(), []*outbox.Record{newTestRecord(1, time.Now())})
	if err != nil || res[0].Err != nil {
		t.Fatalf("enqueue: %v %v", err, res)
	}
	if _, err := newSyncer(filepath.Join(t.TempDir(), "missing.db")); err == nil {
		t.Error("a syncer started without a WAL file to sync")
	}
}

// TestSyncFailureIsSticky: a failed fsync fails its group's callers and
// every write after it, without running them.
func TestSyncFailureIsSticky(t *testing.T) {
	s := openTest(t)
	s.w.sync.file.Close() // its next Sync fails
	for i := range 2 {
		_, err := s.Enqueue(context.Background(), []*outbox.Record{newTestRecord(i, time.Now())})
		if err == nil {
			t.Fatalf("enqueue %d succeeded after a failed sync", i)
		}
	}
	if s.w.sync.failed() == nil {
		t.Fatal("failed() is nil after a failed sync")
	}
	before := s.Commits()
	if _, err := s.Enqueue(context.Background(), []*outbox.Record{newTestRecord(3, time.Now())}); err == nil {
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

// TestGroupWritingNothingNeedsNoFsync: a claim, which writes nothing, is
// answered without an fsync once every earlier commit is on disk; a write
// after it still waits for its own.
func TestGroupWritingNothingNeedsNoFsync(t *testing.T) {
	s := openTest(t)
	ctx, now := context.Background(), time.Now()
	if _, err := s.Enqueue(ctx, []*outbox.Record{newTestRecord(1, now), newTestRecord(2, now)}); err != nil {
		t.Fatal(err)
	}
	// The first claim saves the lease tokens' ceiling: a write.
	if recs, err := s.Claim(ctx, outbox.ClaimRequest{Now: now, Lease: time.Minute, Limit: 1}); err != nil || len(recs) != 1 {
		t.Fatalf("Claim = %d records, %v", len(recs), err)
	}
	s.w.sync.file.Close() // any fsync from now on fails
	recs, err := s.Claim(ctx, outbox.ClaimRequest{Now: now, Lease: time.Minute, Limit: 10})
	if err != nil || len(recs) != 1 {
		t.Fatalf("Claim = %d records, %v; want the message, without an fsync", len(recs), err)
	}
	if _, err := s.Enqueue(ctx, []*outbox.Record{newTestRecord(3, now)}); err == nil {
		t.Fatal("an enqueue was answered without its fsync")
	}
}

// TestClaimRefusedAfterFailedSyncDuringGroup: a claim the writer took
// into its open transaction while an earlier commit was syncing, and that
// fsync failed, is refused like every write after it: its deliveries'
// outcomes could never be committed. (The failure is set by hand, with
// an earlier commit made to look as if it were syncing.)
func TestClaimRefusedAfterFailedSyncDuringGroup(t *testing.T) {
	s := openTest(t)
	ctx, now := context.Background(), time.Now()
	if _, err := s.Enqueue(ctx, []*outbox.Record{newTestRecord(1, now), newTestRecord(2, now)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Claim(ctx, outbox.ClaimRequest{Now: now, Lease: time.Minute, Limit: 1}); err != nil { // saves the lease ceiling
		t.Fatal(err)
	}
	for s.w.sync.busy() {
		time.Sleep(time.Millisecond)
	}
	s.w.sync.pending.Add(1) // an earlier commit syncing
	base := s.w.ran.Load()
	first := make(chan error, 1)
	go func() {
		_, err := s.Claim(ctx, outbox.ClaimRequest{Now: now.Add(-time.Hour), Lease: time.Minute, Limit: 1})
		first <- err
	}()
	for s.w.ran.Load() == base { // the first claim opened the transaction
		time.Sleep(time.Millisecond)
	}
	ran := s.w.ran.Load()
	s.w.sync.mu.Lock()
	s.w.sync.err = errors.New("commit: sync: EIO")
	s.w.sync.mu.Unlock()
	type result struct {
		recs []*outbox.Record
		err  error
	}
	second := make(chan result, 1)
	go func() {
		recs, err := s.Claim(ctx, outbox.ClaimRequest{Now: now, Lease: time.Minute, Limit: 1})
		second <- result{recs, err}
	}()
	// Either extend takes the second claim in, or it stops and a new
	// group runs it: refused both ways.
	deadline := time.Now().Add(time.Second)
	for s.w.ran.Load() == ran && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	s.w.sync.pending.Add(-1)
	select {
	case s.w.sync.ready <- struct{}{}:
	default:
	}
	<-first
	if got := <-second; got.err == nil {
		t.Errorf("a claim after the failed fsync was answered: %d records, no error", len(got.recs))
	}
}
