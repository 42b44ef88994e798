package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// httpLoad drives the HTTP API through its client.
type httpLoad struct {
	*httpClient
}

// newHTTPLoad returns a driver for the API at base (http://host:port),
// keeping connections alive for up to clients requests in flight at once.
func newHTTPLoad(base string, clients int) (*httpLoad, error) {
	c, err := newHTTPClient(base, max(clients, pacedWorkers))
	if err != nil {
		return nil, err
	}
	return &httpLoad{c}, nil
}

// single enqueues n messages of a phase, one per request, from clients
// concurrent clients, and returns one recorder per client. Each message's
// latency is its request's.
func (h *httpLoad) single(ctx context.Context, phase string, n, clients int, p *progress) []*recorder {
	var next atomic.Int64
	recs := make([]*recorder, clients)
	var wg sync.WaitGroup
	for c := range clients {
		r := &recorder{lat: make([]time.Duration, 0, n/clients+1)}
		recs[c] = r
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for ctx.Err() == nil {
				i := int(next.Add(1))
				if i > n {
					return
				}
				start := time.Now()
				buf = appendJSONMessage(buf[:0], messageID(phase, i), start, time.Time{})
				code, _, err := h.post(ctx, "/v1/messages", buf)
				if err != nil || code != http.StatusAccepted {
					r.errors++
					continue
				}
				r.lat = append(r.lat, time.Since(start))
				r.acked++
				p.add(1)
			}
		}()
	}
	wg.Wait()
	return recs
}

// batchResponse is the part of the batch answer the bench checks.
type batchResponse struct {
	Results []struct {
		Error *struct {
			Message string `json:"message"`
		} `json:"error"`
	} `json:"results"`
}

// batch enqueues n messages of a phase in batches of size, from clients
// concurrent clients. Each message's latency is its batch request's.
// sendAt, when not zero, schedules the messages; sent is then their
// X-Bench-Sent time (their end-to-end latency counts from it) instead of
// the request's.
func (h *httpLoad) batch(ctx context.Context, phase string, n, size, clients int, sendAt time.Time, p *progress) []*recorder {
	var next atomic.Int64
	batches := (n + size - 1) / size
	recs := make([]*recorder, clients)
	var wg sync.WaitGroup
	for c := range clients {
		r := &recorder{}
		recs[c] = r
		wg.Add(1)
		go func() {
			defer wg.Done()
			var buf []byte
			for ctx.Err() == nil {
				b := int(next.Add(1))
				if b > batches {
					return
				}
				first, last := (b-1)*size+1, min(b*size, n)
				start := time.Now()
				sent := start
				if !sendAt.IsZero() {
					sent = sendAt
				}
				buf = append(buf[:0], `{"messages":[`...)
				for i := first; i <= last; i++ {
					if i > first {
						buf = append(buf, ',')
					}
					buf = appendJSONMessage(buf, messageID(phase, i), sent, sendAt)
				}
				buf = append(buf, "]}"...)
				code, body, err := h.post(ctx, "/v1/messages/batch", buf)
				if err != nil || code != http.StatusAccepted {
					r.errors += last - first + 1
					continue
				}
				ok, err := batchAccepted(body, last-first+1)
				if err != nil {
					r.errors += last - first + 1
					continue
				}
				el := time.Since(start)
				for range ok {
					r.lat = append(r.lat, el)
				}
				r.acked += ok
				r.errors += last - first + 1 - ok
				p.add(ok)
			}
		}()
	}
	wg.Wait()
	return recs
}

// batchAccepted counts the items of a batch answer that were accepted.
func batchAccepted(body []byte, want int) (int, error) {
	var br batchResponse
	if err := json.Unmarshal(body, &br); err != nil {
		return 0, err
	}
	if len(br.Results) != want {
		return 0, fmt.Errorf("%d results for %d messages", len(br.Results), want)
	}
	ok := 0
	for _, res := range br.Results {
		if res.Error == nil {
			ok++
		}
	}
	return ok, nil
}
