package outbox_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend/smtp"
	"github.com/outboxmail/outbox/outboxtest"
	"github.com/outboxmail/outbox/sqlite"
)

// BenchmarkDeliverToSink measures end-to-end delivery: b.N messages are
// enqueued in batches, and the clock stops when the SMTP sink on loopback
// has received them all. The store is SQLite with its default durability.
func BenchmarkDeliverToSink(b *testing.B) {
	ctx := context.Background()
	sink := outboxtest.NewSink(b)
	u, _ := url.Parse("smtp://" + sink.Addr() + "?tls=none&max_conns=8")
	be, err := smtp.FromURL(u)
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	st, err := sqlite.Open(ctx, sqlite.Config{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	eng, err := outbox.NewEngine(outbox.EngineConfig{
		Store:    st,
		Backends: func(string) (outbox.Backend, error) { return be, nil },
		Logger:   slog.New(slog.DiscardHandler),
	})
	if err != nil {
		b.Fatal(err)
	}
	client, _ := outbox.NewClient(outbox.ClientConfig{Store: st, Notify: eng.Notify})
	body := strings.Repeat("Lorem ipsum dolor sit amet, consectetur adipiscing elit. ", 30)
	eng.Start(ctx)
	defer eng.Stop(ctx)

	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i += 100 {
		batch := make([]*outbox.Message, 0, 100)
		for j := i; j < min(i+100, b.N); j++ {
			batch = append(batch, &outbox.Message{
				From: outbox.Address{Addr: "app@example.com"}, To: []outbox.Address{{Addr: fmt.Sprintf("u%d@example.net", j)}},
				Subject: "bench", Text: body,
			})
		}
		if _, err := client.EnqueueBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	sink.WaitFor(b.N, 5*time.Minute)
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
	b.ReportMetric(float64(st.Commits())/float64(b.N), "commits/msg")
}
