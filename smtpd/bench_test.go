package smtpd

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// benchMessage is a message of about 2 KB, like a transactional mail.
func benchMessage() string {
	var b strings.Builder
	b.WriteString("From: Shop <shop@example.com>\r\nTo: buyer@example.net\r\n" +
		"Subject: Your order has shipped\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n\r\n")
	for b.Len() < 2048 {
		b.WriteString("Your parcel is on its way and should arrive within three days.\r\n")
	}
	return b.String()
}

// BenchmarkSMTPAccept measures messages accepted per second over SMTP by
// 20 concurrent sessions, each reusing its connection, every message
// durably committed to SQLite before its 250 reply.
func BenchmarkSMTPAccept(b *testing.B) {
	const sessions = 20
	env := start(b, Config{MaxConnections: sessions})
	msg := benchMessage()
	clients := make([]*smtp.Client, sessions)
	for i := range clients {
		c, err := smtp.Dial(env.addr)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		if err := c.Hello("bench.test"); err != nil {
			b.Fatal(err)
		}
		clients[i] = c
	}

	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, sessions)
	b.ResetTimer()
	begin := time.Now()
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(b.N) {
				if _, err := trySend(c, "shop@example.com", []string{"buyer@example.net"}, msg, nil); err != nil {
					errs <- fmt.Errorf("send: %w", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(begin)
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
}
