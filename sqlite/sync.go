package sqlite

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// syncer makes commits durable off the writer goroutine. The write
// connection runs with synchronous=NORMAL: a COMMIT writes its WAL frames
// to the file but does not wait for the disk. The writer hands each
// committed group to the syncer, which fsyncs the WAL file once for all
// the groups committed since its last fsync and only then answers their
// callers. The writer runs the next group while the disk flushes the last,
// one fsync covers several commits, and a caller is still answered only
// once its transaction is on disk, as with synchronous=FULL. An fsync
// covers every write before it, so a caller is never answered before the
// commits its own transaction read.
//
// A failed fsync may have dropped the pages it was to write (the kernel
// can mark them clean after reporting the error), so the syncer never
// retries one: those callers get the error, and so does every write after
// it until the store is reopened, which recovers from what reached the
// disk. Their transactions were committed, and readers see them, but
// whether they are on disk is unknown: the error says so.
type syncer struct {
	wal    string // the WAL file's path
	file   *os.File
	groups chan []*request
	done   chan struct{}
	// pending counts the groups added and not yet answered; ready gets a
	// token after each fsync (see writer.extend).
	pending atomic.Int64
	ready   chan struct{}

	mu  sync.Mutex
	err error // sticky: set by the first failed fsync
}

// newSyncer opens the WAL file of the database at path, which must
// exist (the write connection has opened the database), syncs the
// directory that holds its name, and starts the syncer.
func newSyncer(path string) (*syncer, error) {
	s := &syncer{wal: path + "-wal", groups: make(chan []*request, 64), done: make(chan struct{}),
		ready: make(chan struct{}, 1)}
	f, err := os.Open(s.wal)
	if err != nil {
		return nil, err
	}
	dir, err := os.Open(filepath.Dir(s.wal))
	if err == nil {
		err = errors.Join(dir.Sync(), dir.Close())
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	s.file = f
	go s.loop()
	return s, nil
}

// add hands a committed group over; the syncer answers its requests.
func (s *syncer) add(group []*request) {
	s.pending.Add(1)
	s.groups <- group
}

// busy reports whether a group waits for its fsync.
func (s *syncer) busy() bool { return s.pending.Load() > 0 }

// failed returns the error of the failed fsync, if one failed.
func (s *syncer) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// stop answers the groups already added and ends the loop; the writer,
// the only sender, must have stopped.
func (s *syncer) stop() {
	close(s.groups)
	<-s.done
	if s.file != nil {
		s.file.Close()
	}
}

// loop takes every group waiting, syncs once and answers them all.
func (s *syncer) loop() {
	defer close(s.done)
	var batch [][]*request
	for g := range s.groups {
		batch = drain(s.groups, append(batch[:0], g), math.MaxInt)
		err := s.sync()
		// No longer pending once synced: a caller answered finds the
		// syncer idle unless more came. The writer hears it first: the
		// commit of the group it holds open is the next one's wait.
		s.pending.Add(-int64(len(batch)))
		select {
		case s.ready <- struct{}{}:
		default:
		}
		// Callers in a hurry first: each answer readies a goroutine,
		// and those readied first run first.
		for _, lazy := range []bool{false, true} {
			for _, g := range batch {
				for _, r := range g {
					if r.lazy != lazy {
						continue
					}
					if err != nil && r.err == nil {
						r.err = err
					}
					close(r.done)
				}
			}
		}
		clear(batch)
	}
}

// sync flushes the WAL file to disk.
func (s *syncer) sync() error {
	if err := s.failed(); err != nil {
		return err
	}
	err := s.file.Sync()
	if err != nil {
		err = fmt.Errorf("commit: sync: %w (whether the write is on disk is unknown; writes fail until the store is reopened)", err)
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
	}
	return err
}
