package sqlite

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// TestWALIsRewound: once a background checkpoint has copied the WAL into
// the database, the writer finishes the copy and the WAL starts over from
// its beginning instead of growing with every commit.
func TestWALIsRewound(t *testing.T) {
	dir := t.TempDir()
	s := openTestDir(t, dir)
	now := time.Now().UTC()
	raw := bytes.Repeat([]byte("0123456789abcdef"), 128) // 2 KiB
	n := 0
	write := func(batches int) {
		t.Helper()
		for range batches {
			recs := make([]*outbox.Record, 100)
			for i := range recs {
				n++
				recs[i] = newTestRecord(n, now)
				recs[i].Raw = raw
			}
			if _, err := s.Enqueue(context.Background(), recs); err != nil {
				t.Fatal(err)
			}
		}
	}
	walSize := func() int64 {
		t.Helper()
		fi, err := os.Stat(filepath.Join(dir, dbName+"-wal"))
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}

	write(40) // about 10 MiB of WAL: past checkpointPages, a pass starts
	first := walSize()
	for s.w.ckpt.passes.Load() == 0 {
		runtime.Gosched()
	}
	write(2) // the writer copies the tail; the next transaction rewinds
	write(40)
	if got := walSize(); got > first*3/2 {
		t.Errorf("WAL grew from %d to %d bytes: it was not rewound after the checkpoint", first, got)
	}
}
