package main

import (
	"context"
	"net/http"
	"sync"
	"time"
)

// pacedWorkers is the most requests the paced phase keeps in flight; a
// request scheduled while all are busy waits, and its wait counts in its
// latency.
const pacedWorkers = 64

// paced offers messages at a fixed rate for a while, one per request
// (open loop): request i is due at start + i/rate whatever happened to
// the ones before, and its latency is measured from that due time, so a
// stall of the server shows in the latencies of every request it delayed.
func (h *httpLoad) paced(ctx context.Context, phase string, rate int, dur time.Duration, p *progress) []*recorder {
	n := int(float64(rate) * dur.Seconds())
	interval := time.Second / time.Duration(rate)
	due := make(chan time.Time, n)
	recs := make([]*recorder, pacedWorkers)
	var wg sync.WaitGroup
	var seq struct {
		sync.Mutex
		n int
	}
	for w := range pacedWorkers {
		r := &recorder{}
		recs[w] = r
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for at := range due {
				seq.Lock()
				seq.n++
				i := seq.n
				seq.Unlock()
				buf = appendJSONMessage(buf[:0], messageID(phase, i), at, time.Time{})
				code, _, err := h.post(ctx, "/v1/messages", buf)
				if err != nil || code != http.StatusAccepted {
					r.errors++
					continue
				}
				r.lat = append(r.lat, time.Since(at))
				r.acked++
				p.add(1)
			}
		}()
	}
	start := time.Now()
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		if d := time.Until(at); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		due <- at
	}
	close(due)
	wg.Wait()
	return recs
}
