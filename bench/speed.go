package main

import (
	"slices"
	"strings"
	"time"

	"github.com/outboxmail/outbox"
)

// Speed is how fast the machine computed when a run began and ended:
// the time to render a 1 KB plain-text message with outbox.Render (as
// BenchmarkRenderText does), the median of a few rounds, before anything
// of the run starts and once its phases are done. On a shared machine whose speed moves, it
// says which runs can be compared.
type Speed struct {
	RenderStart time.Duration `json:"render_1kb_start_ns"`
	RenderEnd   time.Duration `json:"render_1kb_end_ns"`
}

// renderSpeed measures one render of a 1 KB text message.
func renderSpeed() time.Duration {
	m := &outbox.Message{
		From:    outbox.Address{Name: "Helpdesk", Addr: "help@example.com"},
		To:      []outbox.Address{{Name: "Customer", Addr: "customer@example.net"}},
		Subject: "Your ticket #12345 was updated",
		Text:    strings.Repeat("Thank you for contacting us. We will answer within one day.\n", 17),
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	const rounds, renders = 7, 1000
	for range 5 * renders { // warm up: the heap grows, the caches fill
		outbox.Render(m, now)
	}
	per := make([]time.Duration, rounds)
	for i := range per {
		start := time.Now()
		for range renders {
			if _, err := outbox.Render(m, now); err != nil {
				return 0
			}
		}
		per[i] = time.Since(start) / renders
	}
	slices.Sort(per)
	return per[rounds/2]
}
