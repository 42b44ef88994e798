package torture

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outboxmail/outbox/outboxtest"
)

// testKillUnderLoad enqueues mail over HTTP and SMTP while Outbox
// delivers it, kills `outbox serve` with SIGKILL at random moments,
// restarts it on the same data dir, and checks that every acknowledged
// message was delivered (zero lost) and that any duplicate carries the
// Message-ID it was acknowledged with.
//
// Short: 3 kills, each after at least 350 acknowledged messages (1,050
// in all). Long: 20 kills; every fifth comes within 200 ms of the
// daemon's start, while it delivers again what the previous kill left in
// flight.
func (s *suite) testKillUnderLoad(t *testing.T) {
	kills, perRound := 3, 350
	if long() {
		kills = 20
	}
	sink := outboxtest.NewSink(t)
	dir := t.TempDir()
	opts := daemonOpts{
		dataDir: filepath.Join(dir, "data"),
		backend: "smtp://" + sink.Addr() + "?tls=none&timeout=5s",
		env:     []string{"OUTBOX_RETRY_MIN_DELAY=100ms", "OUTBOX_RETRY_MAX_DELAY=500ms"},
		log:     filepath.Join(dir, "outbox.log"),
	}
	l := newLedger()
	var seq atomic.Int64
	smtpSeen := false
	for round := range kills {
		d := s.startDaemon(t, opts)
		smtpSeen = smtpSeen || d.SMTP != ""
		ctx, cancel := context.WithCancel(context.Background())
		var acked atomic.Int64
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() { httpLoad(ctx, d.URL, &seq, l, &acked) })
			if d.SMTP != "" {
				wg.Go(func() { smtpLoad(ctx, d.SMTP, &seq, l, &acked) })
			}
		}
		want := int64(perRound)
		if long() && round%5 == 4 {
			want = 0 // an early kill
		}
		deadline := time.Now().Add(time.Minute)
		for acked.Load() < want && time.Now().Before(deadline) && d.Alive() {
			time.Sleep(time.Millisecond)
		}
		if acked.Load() < want {
			cancel()
			wg.Wait()
			t.Fatalf("round %d: only %d messages acknowledged\n%s", round+1, acked.Load(), d.logTail())
		}
		if want > 0 {
			time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		} else {
			time.Sleep(time.Duration(rand.IntN(200)) * time.Millisecond)
		}
		d.Kill()
		cancel()
		wg.Wait()
		t.Logf("round %d: SIGKILL after %d acknowledged messages this round (%d received by the sink so far)", round+1, acked.Load(), sink.Count())
	}
	if !smtpSeen {
		t.Fatal("outbox serve ran without its SMTP listener: SMTP submissions were not tested")
	}

	d := s.startDaemon(t, opts)
	a := l.awaitAll(t, sink, 2*time.Minute, d.logTail)
	t.Logf("%d acknowledged messages (%d over HTTP, %d over SMTP), %d kills: 0 lost, %d duplicates (same Message-ID), %d delivered but never acknowledged",
		l.len(), l.count("h"), l.count("s"), kills, a.duplicates, a.unacked)
	if least := 3 * perRound; l.len() < least {
		t.Errorf("only %d acknowledged messages, want at least %d", l.len(), least)
	}
	if l.count("h") == 0 || l.count("s") == 0 {
		t.Errorf("%d acknowledged over HTTP and %d over SMTP: want both", l.count("h"), l.count("s"))
	}
	d.Stop()
}

// httpLoad posts messages one per request until ctx ends, and records the
// acknowledged ones.
func httpLoad(ctx context.Context, base string, seq *atomic.Int64, l *ledger, acked *atomic.Int64) {
	c := httpClient()
	defer c.CloseIdleConnections()
	for ctx.Err() == nil {
		key := fmt.Sprintf("h%d", seq.Add(1))
		rc, code, err := enqueue(ctx, c, base, jsonMessage(key))
		if err != nil || code != 202 {
			continue // not acknowledged: it may or may not be stored
		}
		l.ack(key, rc.MessageID)
		acked.Add(1)
	}
}

// smtpLoad submits messages over SMTP sessions until ctx ends, and
// records the acknowledged ones (250 after the data).
func smtpLoad(ctx context.Context, addr string, seq *atomic.Int64, l *ledger, acked *atomic.Int64) {
	for ctx.Err() == nil {
		c, err := dialSMTP(addr)
		if err != nil {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		for ctx.Err() == nil {
			key := fmt.Sprintf("s%d", seq.Add(1))
			msgID := "<" + key + ".torture@example.com>"
			_, err := submit(c, "app@example.com", []string{"user@example.net"}, rawMessage(key, msgID))
			if acknowledged(err) {
				l.ack(key, msgID)
				acked.Add(1)
			}
			if err != nil {
				break
			}
		}
		c.Close()
	}
}
