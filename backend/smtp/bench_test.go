package smtp_test

import (
	"context"
	"strings"
	"testing"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/outboxtest"
)

// BenchmarkSend delivers 2 KB messages to a sink on loopback over one
// reused connection, sequentially: the cost of a transaction (MAIL, RCPT,
// DATA and the data) on a pooled connection.
func BenchmarkSend(b *testing.B) {
	sink := outboxtest.NewSink(b)
	be := newBackend(b, sinkURL(sink, "tls=none"))
	e := &outbox.Envelope{From: "sender@example.com", To: []string{"rcpt@example.com"}, Data: twoKB()}
	ctx := context.Background()
	send(b, be, e) // connect outside the timing
	sink.Reset()

	b.SetBytes(int64(len(e.Data)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := be.Send(ctx, e); err != nil {
			b.Fatal(err)
		}
		if i%1000 == 0 {
			sink.Reset() // keep the sink's memory flat
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if sink.Connections() != 1 {
		b.Errorf("%d connections, want 1", sink.Connections())
	}
}

// BenchmarkSendParallel is BenchmarkSend from concurrent goroutines over
// the default pool of 4 connections.
func BenchmarkSendParallel(b *testing.B) {
	sink := outboxtest.NewSink(b)
	// 8 senders on 2 CPUs share 4 pooled connections.
	be := newBackend(b, sinkURL(sink, "tls=none&max_conns=4"))
	e := &outbox.Envelope{From: "sender@example.com", To: []string{"rcpt@example.com"}, Data: twoKB()}
	ctx := context.Background()

	b.SetBytes(int64(len(e.Data)))
	b.ReportAllocs()
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := be.Send(ctx, e); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	if n := sink.Connections(); n > 4 {
		b.Errorf("%d connections, want at most 4", n)
	}
}

func twoKB() []byte {
	var sb strings.Builder
	sb.WriteString("From: sender@example.com\r\nTo: rcpt@example.com\r\nSubject: benchmark\r\n\r\n")
	for sb.Len() < 2048 {
		sb.WriteString("The quick brown fox jumps over the lazy dog, again and again.\r\n")
	}
	return []byte(sb.String())
}
