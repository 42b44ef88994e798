package sqlite

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// TestWALIsRewound: under a steady stream of commits the background
// checkpoints copy the WAL into the database and the WAL starts over, so
// it stays far smaller than what was written.
func TestWALIsRewound(t *testing.T) {
	dir := t.TempDir()
	s := openTestDir(t, dir)
	now := time.Now().UTC()
	raw := bytes.Repeat([]byte("0123456789abcdef"), 128) // 2 KiB
	const batches, per = 80, 100
	for b := range batches {
		recs := make([]*outbox.Record, per)
		for i := range recs {
			recs[i] = newTestRecord(b*per+i, now)
			recs[i].Raw = raw
		}
		if _, err := s.Enqueue(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(filepath.Join(dir, dbName+"-wal"))
	if err != nil {
		t.Fatal(err)
	}
	written := int64(batches * per * len(raw))
	t.Logf("WAL %d KiB after writing %d KiB of bodies", fi.Size()>>10, written>>10)
	if fi.Size() > written/2 {
		t.Errorf("WAL is %d bytes after %d bytes written: it was never rewound", fi.Size(), written)
	}
}
