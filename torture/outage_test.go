package torture

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/outboxmail/outbox/outboxtest"
)

// retrySchedule is the retry policy a test gives outbox serve, mirrored
// here to compute what it allows.
type retrySchedule struct {
	min, max time.Duration
}

// env returns the variables that set the schedule.
func (r retrySchedule) env() []string {
	return []string{"OUTBOX_RETRY_MIN_DELAY=" + r.min.String(), "OUTBOX_RETRY_MAX_DELAY=" + r.max.String()}
}

// shortestGap is the least delay the engine may wait after n counted
// attempts: the backoff min·2^(n-1) capped at max, less the 25 % jitter,
// and never below min.
func (r retrySchedule) shortestGap(n int) time.Duration {
	d := r.min
	for i := 1; i < n && d < r.max; i++ {
		d *= 2
	}
	d = min(d, r.max)
	return max(r.min, d*3/4)
}

// maxAttempts is the most attempts one message can make within a window:
// one at its start, then one after each shortest gap that fits.
func (r retrySchedule) maxAttempts(window time.Duration) int {
	n := 1
	for elapsed := r.shortestGap(1); elapsed <= window; elapsed += r.shortestGap(n) {
		n++
	}
	return n
}

// testUpstreamOutage takes the upstream down (connections refused) for a
// while with mail queued, then brings it back: every message is delivered
// afterwards, and the connection attempts made during the outage stay
// within what the retry schedule allows (no spinning), while some message
// shows that the engine did retry.
//
// Short: a 5 s outage with 250ms–1s delays. Long: 60 s with 1s–10s.
func (s *suite) testUpstreamOutage(t *testing.T) {
	outage, sched, n := 5*time.Second, retrySchedule{250 * time.Millisecond, time.Second}, 40
	if long() {
		outage, sched, n = 60*time.Second, retrySchedule{time.Second, 10 * time.Second}, 200
	}
	sink := outboxtest.NewSink(t)
	g := newGate(t, sink.Addr())
	d := s.startDaemon(t, daemonOpts{
		dataDir: filepath.Join(t.TempDir(), "data"),
		backend: "smtp://" + g.Addr() + "?tls=none&timeout=5s",
		env:     sched.env(),
	})
	c := httpClient()
	ctx := context.Background()
	l := newLedger()
	send := func(key string) int64 {
		rc, code, err := enqueue(ctx, c, d.URL, jsonMessage(key))
		if err != nil || code != 202 {
			t.Fatalf("enqueue %s: %d %v", key, code, err)
		}
		l.ack(key, rc.MessageID)
		return rc.ID
	}

	// Warm up: the backend pools connections through the gate.
	const warm = 5
	for i := range warm {
		send(fmt.Sprintf("warm%d", i))
	}
	l.awaitAll(t, sink, 30*time.Second, d.logTail)

	g.Down()
	start := time.Now()
	ids := make([]int64, n)
	for i := range n {
		ids[i] = send(fmt.Sprintf("out%d", i))
	}
	time.Sleep(outage - time.Since(start))
	window := time.Since(start)
	attempts := g.Up()
	if got := sink.Count(); got != warm {
		t.Errorf("the sink received %d messages during the outage, want only the %d warm-up ones", got-warm, warm)
	}

	l.awaitAll(t, sink, sched.max+30*time.Second, d.logTail)
	// Each message tries at most maxAttempts times in the window; one
	// connection per attempt, plus one per pooled connection found dead
	// (each warm-up message may have left one).
	perMessage := sched.maxAttempts(window)
	bound := n*perMessage + warm
	t.Logf("outage of %v with %d messages queued: %d connection attempts (bound %d = %d messages × %d attempts + %d pooled); all delivered afterwards",
		window.Round(time.Millisecond), n, attempts, bound, n, perMessage, warm)
	if attempts > bound {
		t.Errorf("%d connection attempts during a %v outage: more than the retry schedule allows (%d)", attempts, window, bound)
	}
	if attempts == 0 {
		t.Errorf("no connection attempt during a %v outage with %d messages queued", window, n)
	}
	retried := 0
	for _, id := range ids {
		r := waitStatus(t, c, d.URL, id, 30*time.Second)
		if r.Status != "sent" {
			t.Errorf("message %d: status %s after the outage, want sent (last error %q)", id, r.Status, r.LastError)
		}
		if r.Attempts >= 2 {
			retried++
		}
	}
	if retried == 0 {
		t.Errorf("no message shows a retry in its attempt count after a %v outage", window)
	}
	d.Stop()
}
