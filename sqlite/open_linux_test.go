package sqlite

import (
	"context"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestOpenFailureReturns: an Open that fails part way (here: out of file
// descriptors, at each step in turn) returns its error instead of
// waiting for a writer goroutine that never started, and releases the
// directory.
func TestOpenFailureReturns(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(context.Background(), Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &old); err != nil {
		t.Skip(err)
	}
	failed := 0
	for extra := uint64(1); extra < 16; extra++ {
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			t.Skip(err)
		}
		done := make(chan error, 1)
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: uint64(len(fds)) + extra, Max: old.Max})
		go func() {
			s, err := Open(context.Background(), Config{Dir: dir})
			if err == nil {
				s.Close()
			}
			done <- err
		}()
		select {
		case err := <-done:
			syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
			if err != nil {
				failed++
			}
		case <-time.After(10 * time.Second):
			syscall.Setrlimit(syscall.RLIMIT_NOFILE, &old)
			t.Fatalf("Open with %d spare file descriptors did not return", extra)
		}
	}
	if failed == 0 {
		t.Fatal("no Open failed: the test did not exercise the failure paths")
	}
	s, err = Open(context.Background(), Config{Dir: dir})
	if err != nil {
		t.Fatalf("Open after the failed ones: %v", err)
	}
	s.Close()
}
