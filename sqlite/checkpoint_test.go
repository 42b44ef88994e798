package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// TestWALIsRewound: commits made while a background checkpoint copies
// the WAL are copied by the writer afterwards, so the WAL starts over from
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
	// Under load, commits land while a background pass copies the WAL,
	// and the pass cannot copy them. A reader whose snapshot predates two
	// commits recreates that: the pass may copy only what it sees.
	kicked, start := make(chan struct{}), make(chan struct{})
	pass, first := s.w.ckpt.pass, true
	s.w.ckpt.pass = func() error {
		if first {
			first = false
			close(kicked)
			<-start
		}
		return pass()
	}

	batches := 0
	for walSize() < checkpointPages*16<<10 {
		write(1)
		batches++
	}
	<-kicked
	reader, err := s.rdb.BeginTx(context.Background(), &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var n0 int
	if err := reader.QueryRow("SELECT count(*) FROM messages").Scan(&n0); err != nil {
		t.Fatal(err)
	}
	write(2) // after the reader's snapshot: the pass cannot copy these
	close(start)
	for s.w.ckpt.passes.Load() == 0 {
		runtime.Gosched()
	}
	reader.Rollback()
	write(1) // the writer copies what the pass could not
	before := walSize()
	write(batches / 2) // the WAL starts over: it does not grow
	if got := walSize(); got > before {
		t.Errorf("WAL grew from %d to %d bytes: it was not rewound after the checkpoint", before, got)
	}
}
