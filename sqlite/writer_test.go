package sqlite

import (
	"context"
	"errors"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// holdWriter occupies the writer until the returned func is called, so
// that requests pile up behind it.
func holdWriter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	started, hold := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.w.do(context.Background(), func(*tx) error {
			close(started)
			<-hold
			return nil
		})
	}()
	<-started
	return func() {
		// With a commit still syncing, the held request's transaction
		// would take in the waiting requests one by one (extend), not as
		// one group: let the syncer finish first.
		for s.w.sync.busy() {
			time.Sleep(time.Millisecond)
		}
		close(hold)
		if err := <-done; err != nil {
			t.Errorf("held request: %v", err)
		}
	}
}

// waitQueued waits until n requests wait for the writer.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	for len(s.w.reqs) < n {
		runtime.Gosched()
	}
}

// TestWaitingRequestsShareOneCommit: every request that waits while the
// writer is busy goes into the next commit, each with its own result; a
// failing item fails only its own caller.
func TestWaitingRequestsShareOneCommit(t *testing.T) {
	s := openTest(t)
	now := time.Now().UTC()
	release := holdWriter(t, s)
	before := s.Commits()

	const callers = 20
	results := make([][]outbox.EnqueueResult, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			batch := []*outbox.Record{newTestRecord(i, now)}
			if i%4 == 0 { // a recipient twice: refused before anything of it is written
				bad := newTestRecord(i, now)
				bad.Recipients = append(bad.Recipients, bad.Recipients[0])
				batch = append(batch, bad, newTestRecord(i, now))
			}
			res, err := s.Enqueue(context.Background(), batch)
			if err != nil {
				t.Errorf("Enqueue: %v", err)
			}
			results[i] = res
		})
	}
	waitQueued(t, s, callers)
	release()
	wg.Wait()

	if got := s.Commits() - before; got != 2 {
		t.Errorf("%d commits for the held request and %d waiting callers, want 2", got, callers)
	}
	stored := 0
	for i, res := range results {
		for j, r := range res {
			if bad := i%4 == 0 && j == 1; bad != (r.Err != nil) {
				t.Errorf("caller %d item %d: %+v", i, j, r)
			}
			if r.Err == nil {
				stored++
				if _, err := s.Get(context.Background(), r.ID); err != nil {
					t.Errorf("caller %d item %d: %v", i, j, err)
				}
			}
		}
	}
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Counts[outbox.StatusQueued] != int64(stored) {
		t.Errorf("queued = %d, want %d", st.Counts[outbox.StatusQueued], stored)
	}
}

// TestConcurrentEnqueueGroupCommit: a crowd of writers shares commits.
func TestConcurrentEnqueueGroupCommit(t *testing.T) {
	s := openTest(t)
	const goroutines, each = 64, 50
	now := time.Now().UTC()
	before := s.Commits()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				res, err := s.Enqueue(context.Background(), []*outbox.Record{newTestRecord(g*each+i, now)})
				if err != nil || res[0].Err != nil {
					t.Errorf("Enqueue: %v %v", err, res)
					return
				}
			}
		})
	}
	wg.Wait()
	calls := int64(goroutines * each)
	commits := s.Commits() - before
	t.Logf("%d enqueue calls in %d commits", calls, commits)
	if commits >= calls/2 {
		t.Errorf("%d commits for %d concurrent calls, want fewer than %d", commits, calls, calls/2)
	}
}

// TestCancelledBeforePicked: a caller that gives up while its request
// waits gets ctx.Err() and the request never runs.
func TestCancelledBeforePicked(t *testing.T) {
	s := openTest(t)
	release := holdWriter(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := s.Enqueue(ctx, []*outbox.Record{newTestRecord(1, time.Now())})
		errc <- err
	}()
	waitQueued(t, s, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("Enqueue = %v, want context.Canceled", err)
	}
	release()
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Counts[outbox.StatusQueued] != 0 {
		t.Errorf("the abandoned enqueue was stored: %v", st.Counts)
	}
	p, err := s.List(context.Background(), outbox.ListQuery{})
	if err != nil || len(p.Records) != 0 {
		t.Errorf("List = %d records, %v; want none", len(p.Records), err)
	}
}

// TestCloseFinishesQueuedWrites: writes submitted before Close commit.
func TestCloseFinishesQueuedWrites(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(context.Background(), Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	release := holdWriter(t, s)
	errc := make(chan error, 1)
	go func() {
		_, err := s.Enqueue(context.Background(), []*outbox.Record{newTestRecord(1, time.Now())})
		errc <- err
	}()
	waitQueued(t, s, 1)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	release()
	if err := <-errc; err != nil {
		t.Errorf("Enqueue submitted before Close = %v", err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	s, err = Open(context.Background(), Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if p, err := s.List(context.Background(), outbox.ListQuery{}); err != nil || len(p.Records) != 1 {
		t.Errorf("after reopen: %d records, %v; want 1", len(p.Records), err)
	}
}

// TestBareRequestFailures: a request run without a savepoint fails alone
// when it fails before writing; a statement failing in it fails the whole
// group, and nothing of the group is stored.
func TestBareRequestFailures(t *testing.T) {
	for _, tc := range []struct {
		name      string
		fn        func(*tx) error
		groupFail bool
	}{
		{"before writing", func(*tx) error { return outbox.ErrLeaseLost }, false},
		{"statement failed", func(t *tx) error {
			if err := t.exec(`UPDATE meta SET value = value + 1 WHERE key = 'ping'`); err != nil {
				return err
			}
			return t.exec(`INSERT INTO meta (key, value) VALUES ('ping', 1)`) // key taken
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t)
			release := holdWriter(t, s)
			enq := make(chan error, 1)
			go func() {
				_, err := s.Enqueue(context.Background(), []*outbox.Record{newTestRecord(1, time.Now())})
				enq <- err
			}()
			waitQueued(t, s, 1)
			bare := make(chan error, 1)
			go func() { bare <- s.w.doBare(context.Background(), tc.fn) }()
			waitQueued(t, s, 2)
			release()
			berr, eerr := <-bare, <-enq
			if berr == nil || errors.Is(berr, errAbort) != tc.groupFail {
				t.Errorf("bare request = %v, want an error that aborts the group: %v", berr, tc.groupFail)
			}
			if (eerr != nil) != tc.groupFail {
				t.Errorf("Enqueue in the same group = %v, want failed: %v", eerr, tc.groupFail)
			}
			p, err := s.List(context.Background(), outbox.ListQuery{})
			if err != nil {
				t.Fatal(err)
			}
			if stored := len(p.Records) == 1; stored == tc.groupFail {
				t.Errorf("%d records stored, group failed: %v", len(p.Records), tc.groupFail)
			}
			var ping int64
			if err := s.rdb.QueryRow(`SELECT value FROM meta WHERE key = 'ping'`).Scan(&ping); err != nil || ping != 0 {
				t.Errorf("ping = %d, %v; want 0, the failed group rolled back", ping, err)
			}
		})
	}
}

// TestCompleteUnknown: completing a message that does not exist is
// ErrNotFound, and changes nothing.
func TestCompleteUnknown(t *testing.T) {
	s := openTest(t)
	err := s.Complete(context.Background(), outbox.Outcome{ID: 12345, Lease: 1, Now: time.Now(),
		Status: outbox.StatusSent, Attempts: 1})
	if !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("Complete(unknown) = %v, want ErrNotFound", err)
	}
}

// TestLazyWritesWaitForCompany: a lazy write alone waits for the next
// write to share its commit, and commits alone after lazyWait.
func TestLazyWritesWaitForCompany(t *testing.T) {
	s := openTest(t)
	noop := func(*tx) error { return nil }
	s.w.lazyWait = time.Hour // set before any request reaches the writer
	release := holdWriter(t, s)
	lazy := make(chan error, 1)
	go func() { lazy <- s.w.doLazy(context.Background(), noop) }()
	waitQueued(t, s, 1)
	release()
	before := s.Commits()
	if _, err := s.Enqueue(context.Background(), []*outbox.Record{newTestRecord(1, time.Now())}); err != nil {
		t.Fatal(err)
	}
	if err := <-lazy; err != nil {
		t.Fatal(err)
	}
	if got := s.Commits() - before; got != 1 {
		t.Errorf("a lazy write and the enqueue after it took %d commits, want 1", got)
	}
}

// TestLazyWriteAloneCommits: with no company, a lazy write commits after
// lazyWait.
func TestLazyWriteAloneCommits(t *testing.T) {
	s := openTest(t)
	before := s.Commits()
	start := time.Now()
	if err := s.w.doLazy(context.Background(), func(*tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < lazyWait {
		t.Errorf("a lazy write alone committed after %s, before lazyWait (%s)", waited, lazyWait)
	}
	if got := s.Commits() - before; got != 1 {
		t.Errorf("%d commits for a lone lazy write, want 1", got)
	}
}
