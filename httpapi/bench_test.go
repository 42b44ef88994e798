package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/httpapi"
)

// BenchmarkEnqueueHTTP measures enqueues over HTTP: 20 concurrent clients
// POST a small JSON message to the API backed by SQLite in a temporary
// directory, each answer a durable commit.
//
//	go test ./httpapi -run '^$' -bench EnqueueHTTP -benchtime 20000x -cpu 2
func BenchmarkEnqueueHTTP(b *testing.B) {
	f := newFixture(b, nil)
	body := []byte(message("benchmark"))
	const clients = 20
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	b.SetParallelism((clients + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := hc.Post(f.srv.URL+"/v1/messages", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "enqueues/s")
}

// BenchmarkEnqueueHandler measures the API's own cost of an enqueue:
// decode, validate, render and answer, with a store that commits nothing,
// called without a network.
//
//	go test ./httpapi -run '^$' -bench EnqueueHandler -cpu 1
func BenchmarkEnqueueHandler(b *testing.B) {
	benchHandler(b, "/v1/messages", []byte(message("benchmark")), 1)
}

// BenchmarkEnqueueBatchHandler is BenchmarkEnqueueHandler for batches of
// 100 messages; ns/op is per batch.
//
//	go test ./httpapi -run '^$' -bench EnqueueBatchHandler -cpu 1
func BenchmarkEnqueueBatchHandler(b *testing.B) {
	items := make([]string, 100)
	for i := range items {
		items[i] = message("benchmark")
	}
	body := []byte(`{"messages": [` + strings.Join(items, ",") + `]}`)
	benchHandler(b, "/v1/messages/batch", body, len(items))
}

// benchHandler posts body to path over and over, each request carrying
// perRequest messages, and reports messages per second.
func benchHandler(b *testing.B, path string, body []byte, perRequest int) {
	client, err := outbox.NewClient(outbox.ClientConfig{Store: &countingStore{}})
	if err != nil {
		b.Fatal(err)
	}
	h := httpapi.New(httpapi.Config{Client: client})
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != http.StatusAccepted {
				b.Errorf("status %d: %s", w.Code, w.Body)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N*perRequest)/b.Elapsed().Seconds(), "msgs/s")
}

// countingStore is a Store that only numbers what it is given: it stands
// for an infinitely fast store in BenchmarkEnqueueHandler.
type countingStore struct {
	outbox.Store
	last atomic.Int64
}

func (s *countingStore) Enqueue(_ context.Context, recs []*outbox.Record) ([]outbox.EnqueueResult, error) {
	out := make([]outbox.EnqueueResult, len(recs))
	for i := range recs {
		out[i].ID = s.last.Add(1)
	}
	return out, nil
}
