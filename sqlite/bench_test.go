package sqlite

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// benchRaw is a realistic ~2 KB message.
func benchRaw() []byte {
	var b strings.Builder
	b.WriteString("From: App <app@example.com>\r\nTo: user@example.org\r\nSubject: Your ticket was created\r\n")
	b.WriteString("Message-ID: <bench@example.com>\r\nDate: Mon, 2 Jan 2006 15:04:05 +0000\r\n")
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n")
	for b.Len() < 2048 {
		b.WriteString("Thank you for contacting support. We will answer within a day.\r\n")
	}
	return []byte(b.String())
}

// benchRecord returns a message with one or two recipients.
func benchRecord(raw []byte, i int64, now time.Time) *outbox.Record {
	rcpts := []outbox.Recipient{{Addr: "user@example.org", Status: outbox.RecipientPending}}
	if i%2 == 0 {
		rcpts = append(rcpts, outbox.Recipient{Addr: "copy@example.org", Status: outbox.RecipientPending})
	}
	return &outbox.Record{
		MessageID:  fmt.Sprintf("<%d@example.com>", i),
		Status:     outbox.StatusQueued,
		From:       "app@example.com",
		Subject:    "Your ticket was created",
		Recipients: rcpts,
		Tags:       []string{"ticket"},
		Size:       len(raw),
		CreatedAt:  now, UpdatedAt: now, LifetimeStart: now, NextAttemptAt: now,
		Raw: raw,
	}
}

func openBench(b *testing.B) *Store {
	b.Helper()
	s, err := Open(context.Background(), Config{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s
}

func reportRate(b *testing.B, msgs int64) {
	b.ReportMetric(float64(msgs)/b.Elapsed().Seconds(), "msgs/s")
}

// BenchmarkEnqueueSingle enqueues one message per call from one goroutine:
// every call waits for its own commit.
func BenchmarkEnqueueSingle(b *testing.B) {
	s := openBench(b)
	raw, now, ctx := benchRaw(), time.Now().UTC(), context.Background()
	var i int64
	for b.Loop() {
		i++
		res, err := s.Enqueue(ctx, []*outbox.Record{benchRecord(raw, i, now)})
		if err != nil || res[0].Err != nil {
			b.Fatal(err, res)
		}
	}
	reportRate(b, i)
}

// BenchmarkEnqueueParallel enqueues one message per call from about 20
// goroutines, as concurrent HTTP clients do: they share commits.
func BenchmarkEnqueueParallel(b *testing.B) {
	s := openBench(b)
	raw, now, ctx := benchRaw(), time.Now().UTC(), context.Background()
	var n atomic.Int64
	b.SetParallelism(max(1, 20/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			res, err := s.Enqueue(ctx, []*outbox.Record{benchRecord(raw, i, now)})
			if err != nil || res[0].Err != nil {
				b.Fatal(err, res)
			}
		}
	})
	reportRate(b, n.Load())
}

// BenchmarkHandOff is the store's part of the daemon taking one message
// per request while its deliveries keep up: about 20 goroutines each
// enqueue messages stored leased (hand-offs) and complete each one sent
// once two newer ones of theirs are stored, so that about 40 leases are
// held at any time, as deliveries under way. ns/op is per message.
func BenchmarkHandOff(b *testing.B) {
	s := openBench(b)
	raw, now, ctx := benchRaw(), time.Now().UTC(), context.Background()
	var n, handedOff atomic.Int64
	b.SetParallelism(max(1, 20/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var held []outbox.EnqueueResult
		complete := func(r outbox.EnqueueResult) {
			err := s.Complete(ctx, outbox.Outcome{ID: r.ID, Lease: r.Lease, Now: now, Status: outbox.StatusSent, Attempts: 1,
				Recipients: []outbox.Recipient{{Addr: "user@example.org", Status: outbox.RecipientSent}}})
			if err != nil {
				b.Error(err)
			}
		}
		for pb.Next() {
			rec := benchRecord(raw, n.Add(1), now)
			rec.Status, rec.LeaseUntil = outbox.StatusSending, now.Add(time.Minute)
			res, err := s.Enqueue(ctx, []*outbox.Record{rec})
			if err != nil || res[0].Err != nil {
				b.Fatal(err, res)
			}
			if res[0].Lease == 0 {
				continue // queued behind due mail: not held
			}
			handedOff.Add(1)
			if held = append(held, res[0]); len(held) > 2 {
				complete(held[0])
				held = held[1:]
			}
		}
		for _, r := range held {
			complete(r)
		}
	})
	if h := handedOff.Load(); h != n.Load() {
		b.Fatalf("%d of %d messages handed off, want all: nothing else is due", h, n.Load())
	}
}

// BenchmarkEnqueueBatch100 enqueues 100 messages per call.
func BenchmarkEnqueueBatch100(b *testing.B) {
	s := openBench(b)
	raw, now, ctx := benchRaw(), time.Now().UTC(), context.Background()
	var i int64
	batch := make([]*outbox.Record, 100)
	for b.Loop() {
		for j := range batch {
			i++
			batch[j] = benchRecord(raw, i, now)
		}
		res, err := s.Enqueue(ctx, batch)
		if err != nil || res[99].Err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, i)
}

// BenchmarkEnqueueBatch100Parallel enqueues 100 messages per call from
// 4 goroutines: concurrent batches share commits.
func BenchmarkEnqueueBatch100Parallel(b *testing.B) {
	s := openBench(b)
	raw, now, ctx := benchRaw(), time.Now().UTC(), context.Background()
	var n atomic.Int64
	b.SetParallelism(max(1, 4/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		batch := make([]*outbox.Record, 100)
		for pb.Next() {
			for j := range batch {
				batch[j] = benchRecord(raw, n.Add(1), now)
			}
			res, err := s.Enqueue(ctx, batch)
			if err != nil || res[99].Err != nil {
				b.Fatal(err)
			}
		}
	})
	reportRate(b, n.Load())
}

// BenchmarkClaimComplete claims 50 messages at a time and completes them
// concurrently, as the engine's workers do; the queue is refilled outside
// the timer.
func BenchmarkClaimComplete(b *testing.B) {
	s := openBench(b)
	// The outcomes would wait for company that, here, never comes: the
	// next claim is only made once they are all committed.
	s.w.lazyWait = 0
	now, ctx := time.Now().UTC(), context.Background()
	q := &benchQueue{s: s, raw: benchRaw(), now: now}
	var done int64
	for b.Loop() {
		recs, err := s.Claim(ctx, outbox.ClaimRequest{Now: now, Lease: time.Minute, Limit: 50})
		if err != nil {
			b.Fatal(err)
		}
		if len(recs) == 0 {
			q.refill(b, 2000)
			continue
		}
		var wg sync.WaitGroup
		for _, r := range recs {
			wg.Go(func() {
				o := outbox.Outcome{ID: r.ID, Lease: r.Lease, Now: now, Status: outbox.StatusSent, Attempts: 1,
					Attempt: &outbox.Attempt{At: now, Backend: "default", Class: outbox.ClassAccepted}}
				for _, rc := range r.Recipients {
					o.Recipients = append(o.Recipients, outbox.Recipient{Addr: rc.Addr, Status: outbox.RecipientSent,
						Reply: outbox.Reply{Code: 250, Text: "ok"}})
					o.Attempt.Recipients = append(o.Attempt.Recipients, outbox.RecipientResult{Addr: rc.Addr,
						Class: outbox.ClassAccepted, Reply: outbox.Reply{Code: 250, Text: "ok"}})
				}
				if err := s.Complete(ctx, o); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		done += int64(len(recs))
	}
	reportRate(b, done)
}

// BenchmarkClaim10 measures claims alone, ten messages each as the
// engine's are under load, from a queue refilled outside the timer. As
// with 32 workers, the last 32 messages claimed stay held: older ones are
// completed outside the timer. ns/op is per claim.
func BenchmarkClaim10(b *testing.B) {
	const held = 32
	s := openBench(b)
	now, ctx := time.Now().UTC(), context.Background()
	q := &benchQueue{s: s, raw: benchRaw(), now: now}
	var claimed []*outbox.Record
	for b.Loop() {
		recs, err := s.Claim(ctx, outbox.ClaimRequest{Now: now, Lease: time.Minute, Limit: 10})
		if err != nil {
			b.Fatal(err)
		}
		claimed = append(claimed, recs...)
		if len(claimed) > held || len(recs) < 10 {
			b.StopTimer()
			var wg sync.WaitGroup
			for _, r := range claimed[:max(0, len(claimed)-held)] {
				wg.Go(func() { // sharing commits
					err := s.Complete(ctx, outbox.Outcome{ID: r.ID, Lease: r.Lease, Now: now, Status: outbox.StatusSent})
					if err != nil {
						b.Error(err)
					}
				})
			}
			wg.Wait()
			claimed = claimed[max(0, len(claimed)-held):]
			if len(recs) < 10 {
				q.refill(b, 1000)
			}
			b.StartTimer()
		}
	}
}

// benchQueue refills a store's queue for the claim benchmarks.
type benchQueue struct {
	s   *Store
	raw []byte
	now time.Time
	i   int64
}

// refill enqueues n more messages, in batches of 100, outside the timer.
func (q *benchQueue) refill(b *testing.B, n int) {
	b.StopTimer()
	defer b.StartTimer()
	batch := make([]*outbox.Record, 100)
	for range n / len(batch) {
		for j := range batch {
			q.i++
			batch[j] = benchRecord(q.raw, q.i, q.now)
		}
		if _, err := q.s.Enqueue(context.Background(), batch); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpen opens a store holding 200,000 messages: the counts per
// status are taken at open, by one walk of messages_status.
func BenchmarkOpen(b *testing.B) {
	dir := b.TempDir()
	s, err := Open(context.Background(), Config{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	raw, now, ctx := benchRaw(), time.Now().UTC(), context.Background()
	const total, batch = 200_000, 1000
	recs := make([]*outbox.Record, batch)
	for i := int64(0); i < total; i += batch {
		for j := range recs {
			recs[j] = benchRecord(raw, i+int64(j), now)
		}
		if _, err := s.Enqueue(ctx, recs); err != nil {
			b.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		s, err := Open(ctx, Config{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if st, err := s.Stats(ctx); err != nil || st.Counts[outbox.StatusQueued] != total {
			b.Fatalf("after open: %v %v, want %d queued", st.Counts, err, total)
		}
		s.Close()
		b.StartTimer()
	}
}
