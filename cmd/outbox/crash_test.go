package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outboxmail/outbox/outboxtest"
)

// TestCrashSafety enqueues messages over HTTP while Outbox delivers them
// to an SMTP sink, kills `outbox serve` with SIGKILL several times at
// random moments, restarts it on the same data dir, and checks that every
// acknowledged message was delivered (zero lost) and that any duplicate
// carries the Message-ID the API returned for it.
//
// OUTBOX_TORTURE_KILLS raises the number of kills (default 3).
func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	kills := 3
	if v, err := strconv.Atoi(os.Getenv("OUTBOX_TORTURE_KILLS")); err == nil && v > kills {
		kills = v
	}
	const perRound = 400 // acknowledged messages per round, at least
	sink := outboxtest.NewSink(t)
	dir := t.TempDir()
	backendURL := "smtp://" + sink.Addr() + "?tls=none&timeout=5s"
	env := []string{"OUTBOX_RETRY_MIN_DELAY=100ms", "OUTBOX_RETRY_MAX_DELAY=500ms"}

	var mu sync.Mutex
	acked := map[int]string{} // sequence number → Message-ID from the API
	var seq atomic.Int64
	for round := 0; round < kills; round++ {
		d := startDaemon(t, dir, backendURL, env...)
		ctx, cancel := context.WithCancel(context.Background())
		var roundAcked atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < 8; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					n := int(seq.Add(1))
					var rc struct {
						MessageID string `json:"message_id"`
					}
					code, err := post(ctx, d.URL+"/v1/messages", map[string]any{
						"from":    "app@example.com",
						"to":      []string{fmt.Sprintf("user%d@example.net", n%50)},
						"subject": fmt.Sprintf("crash-test %d", n),
						"text":    strings.Repeat("Lorem ipsum dolor sit amet. ", 40),
					}, &rc)
					if err != nil || code != 202 {
						continue // not acknowledged: may or may not be stored
					}
					mu.Lock()
					acked[n] = rc.MessageID
					mu.Unlock()
					roundAcked.Add(1)
				}
			}()
		}
		for wait := time.Now().Add(time.Minute); roundAcked.Load() < perRound; time.Sleep(time.Millisecond) {
			if time.Now().After(wait) || !d.Alive() {
				cancel()
				wg.Wait()
				t.Fatalf("round %d: only %d messages acknowledged (daemon alive: %v)\n%s", round+1, roundAcked.Load(), d.Alive(), d.Stderr())
			}
		}
		time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
		d.Kill()
		cancel()
		wg.Wait()
		t.Logf("round %d: killed after %d acknowledged messages (%d received by the sink so far)", round+1, roundAcked.Load(), sink.Count())
	}

	d := startDaemon(t, dir, backendURL, env...)
	defer d.Stop()
	mu.Lock()
	defer mu.Unlock()
	if len(acked) < kills*perRound {
		t.Fatalf("only %d acknowledged messages", len(acked))
	}
	deadline := time.Now().Add(2 * time.Minute)
	for {
		received, dups, wrongID := tally(sink.Messages(), acked)
		lost := 0
		for n := range acked {
			if received[n] == 0 {
				lost++
			}
		}
		if lost == 0 {
			t.Logf("%d acknowledged messages, %d kills: 0 lost, %d duplicates (same Message-ID)", len(acked), kills, dups)
			if wrongID > 0 {
				t.Errorf("%d deliveries carry another Message-ID than the API returned", wrongID)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d acknowledged messages never delivered\n%s", lost, len(acked), d.Stderr())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// tally counts deliveries per sequence number, duplicates among the
// acknowledged messages, and deliveries whose Message-ID differs from the
// one acknowledged.
func tally(msgs []outboxtest.SinkMessage, acked map[int]string) (received map[int]int, dups, wrongID int) {
	received = map[int]int{}
	for _, m := range msgs {
		n, ok := subjectSeq(m.Data)
		if !ok {
			continue
		}
		received[n]++
		if id, ok := acked[n]; ok {
			if received[n] > 1 {
				dups++
			}
			if messageID(m.Data) != id {
				wrongID++
			}
		}
	}
	return received, dups, wrongID
}

func subjectSeq(raw []byte) (int, bool) {
	for _, line := range strings.Split(string(raw), "\r\n") {
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Subject: crash-test "); ok {
			n, err := strconv.Atoi(v)
			return n, err == nil
		}
	}
	return 0, false
}
