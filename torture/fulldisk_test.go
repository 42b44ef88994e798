package torture

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/outboxmail/outbox/outboxtest"
)

// mountTmpfs mounts a tmpfs of size bytes on a new directory and unmounts
// it when the test ends. It skips the test (fails it in CI) when that is
// not possible.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		skipOrFail(t, "the full-disk test mounts a tmpfs and needs root")
	}
	dir := filepath.Join(t.TempDir(), "tmpfs")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		skipOrFail(t, "cannot mount a tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fill writes zeros to path until the file system is full; it returns
// the bytes written.
func fill(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 16<<10)
	var n int64
	for range 1 << 16 { // bounded: at most 1 GiB
		w, err := f.Write(buf)
		n += int64(w)
		if errors.Is(err, syscall.ENOSPC) {
			return n
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Fatalf("wrote %d bytes to %s without filling the file system", n, path)
	return n
}

// testFullDisk puts the data directory on a 32 MiB tmpfs (the SQLite WAL
// alone grows to about 8 MiB between checkpoints) and fills it
// while mail arrives over HTTP and SMTP. Outbox must refuse what it
// cannot store (503, SMTP 451) rather than acknowledge it, keep running,
// lose nothing it acknowledged, and accept mail again once space is freed.
// A final SIGKILL and restart shows that what it acknowledged was
// durable.
func (s *suite) testFullDisk(t *testing.T) {
	mnt := mountTmpfs(t, "32m")
	sink := outboxtest.NewSink(t)
	opts := daemonOpts{
		dataDir: filepath.Join(mnt, "data"),
		backend: "smtp://" + sink.Addr() + "?tls=none&timeout=2s",
		env:     []string{"OUTBOX_RETRY_MIN_DELAY=100ms", "OUTBOX_RETRY_MAX_DELAY=500ms"},
		// A short lease, so that a message whose outcome could not be
		// committed while the disk was full is retried within the test.
		config: "[delivery]\ntimeout = \"2s\"\nlease = \"4s\"\n",
		log:    filepath.Join(t.TempDir(), "outbox.log"),
	}
	d := s.startDaemon(t, opts)
	l := newLedger()
	var seq atomic.Int64
	var codes sync.Map // "http 503", "smtp 451", … → *atomic.Int64
	tally := func(k string) {
		v, _ := codes.LoadOrStore(k, new(atomic.Int64))
		v.(*atomic.Int64).Add(1)
	}
	load := func(ctx context.Context) {
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() { fullDiskHTTP(ctx, d.URL, &seq, l, tally) })
			if d.SMTP != "" {
				wg.Go(func() { fullDiskSMTP(ctx, d.SMTP, &seq, l, tally) })
			}
		}
		wg.Wait()
	}

	// Some mail while there is room, over both.
	if d.SMTP == "" {
		t.Fatal("outbox serve ran without its SMTP listener: SMTP submissions would not be tested")
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	load(ctx)
	cancel()
	before := l.len()
	if count(&codes, "http 202") == 0 || count(&codes, "smtp 250") == 0 {
		t.Fatalf("with room on the disk: %s; want 202s and 250s", summary(&codes))
	}
	smtpRefusedBefore, httpRefusedBefore := count(&codes, "smtp 451"), count(&codes, "http 503")

	filler := filepath.Join(mnt, "filler")
	filled := fill(t, filler)
	ctx, cancel = context.WithTimeout(context.Background(), 4*time.Second)
	load(ctx)
	cancel()
	refused := count(&codes, "http 503") + count(&codes, "smtp 451")
	t.Logf("disk full (filler of %d KiB): %d messages acknowledged before, %d during; answers: %s", filled>>10, before, l.len()-before, summary(&codes))
	if !d.Alive() {
		t.Fatalf("outbox serve died when the disk filled up: %v\n%s", d.Wait(), d.logTail())
	}
	if refused == 0 {
		t.Errorf("no enqueue was refused with 503/451 while the disk was full\n%s", d.logTail())
	}
	if count(&codes, "smtp 451") == smtpRefusedBefore || count(&codes, "http 503") == httpRefusedBefore {
		t.Errorf("while the disk was full: %s; want both 503 (HTTP) and 451 (SMTP)", summary(&codes))
	}
	codes.Range(func(k, v any) bool {
		switch k.(string) {
		case "http 202", "http 503", "smtp 250", "smtp 451", "http error", "smtp error":
		default:
			t.Errorf("%d answers %q while the disk was full; want 202/503 (HTTP) and 250/451 (SMTP)", v.(*atomic.Int64).Load(), k)
		}
		return true
	})

	// Free the space: Outbox accepts mail again.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	c := httpClient()
	deadline := time.Now().Add(30 * time.Second)
	for {
		key := fmt.Sprintf("h%d", seq.Add(1))
		rc, code, err := enqueue(context.Background(), c, d.URL, jsonMessage(key))
		if err == nil && code == 202 {
			l.ack(key, rc.MessageID)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("enqueue still refused 30s after space was freed: %d %v\n%s", code, err, d.logTail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Second)
	load(ctx)
	cancel()

	// Everything acknowledged survives a crash and is delivered.
	d.Kill()
	d = s.startDaemon(t, opts)
	a := l.awaitAll(t, sink, time.Minute, d.logTail)
	t.Logf("%d acknowledged messages: 0 lost, %d duplicates (same Message-ID)", l.len(), a.duplicates)
	d.Stop()
}

// fullDiskHTTP posts messages until ctx ends, tallying the answers.
func fullDiskHTTP(ctx context.Context, base string, seq *atomic.Int64, l *ledger, tally func(string)) {
	c := httpClient()
	defer c.CloseIdleConnections()
	for ctx.Err() == nil {
		key := fmt.Sprintf("h%d", seq.Add(1))
		rc, code, err := enqueue(ctx, c, base, jsonMessage(key))
		switch {
		case err != nil:
			if ctx.Err() == nil {
				tally("http error")
			}
		case code == 202:
			l.ack(key, rc.MessageID)
			tally("http 202")
		default:
			tally(fmt.Sprintf("http %d", code))
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// fullDiskSMTP submits messages until ctx ends, tallying the answers.
func fullDiskSMTP(ctx context.Context, addr string, seq *atomic.Int64, l *ledger, tally func(string)) {
	for ctx.Err() == nil {
		c, err := dialSMTP(addr)
		if err != nil {
			tally("smtp error")
			time.Sleep(10 * time.Millisecond)
			continue
		}
		for ctx.Err() == nil {
			key := fmt.Sprintf("s%d", seq.Add(1))
			msgID := "<" + key + ".torture@example.com>"
			_, err := submit(c, "app@example.com", []string{"user@example.net"}, rawMessage(key, msgID))
			if acknowledged(err) {
				l.ack(key, msgID)
				tally("smtp 250")
			}
			if err == nil {
				continue
			}
			if code := smtpCode(err); code != 0 {
				tally(fmt.Sprintf("smtp %d", code))
				_ = c.Reset()
				time.Sleep(10 * time.Millisecond)
				continue
			}
			tally("smtp error")
			break
		}
		c.Close()
	}
}

// count reads one tally of a sync.Map of counters.
func count(m *sync.Map, k string) int64 {
	if v, ok := m.Load(k); ok {
		return v.(*atomic.Int64).Load()
	}
	return 0
}

// summary formats a sync.Map of counters.
func summary(m *sync.Map) string {
	s := ""
	m.Range(func(k, v any) bool {
		s += fmt.Sprintf("%s×%d ", k, v.(*atomic.Int64).Load())
		return true
	})
	return s
}
