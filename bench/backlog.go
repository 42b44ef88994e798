package main

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// fillSize and fillClients shape the backlog fill: the API's largest
// batch, from a few clients.
const (
	fillSize    = 1000
	fillClients = 4
)

// fill queues messages for a month from now until upTo are queued, as
// fast as the batch API takes them. They stay queued for the rest of the
// run: the backlog the delivery phase then works beside.
func (b *bench) fill(ctx context.Context, upTo int) (Result, error) {
	n := upTo - b.queued
	res := Result{Phase: "backlog-fill", Target: "outbox", Queued: upTo}
	if n <= 0 {
		return res, nil
	}
	sinceStart := !b.daemon.resetPeak()
	later := time.Now().Add(30 * 24 * time.Hour).Truncate(time.Second)
	tag := phaseTag(fmt.Sprintf("backlog%d", upTo), "outbox")
	p := startProgress(b.out, b.tty, fmt.Sprintf("backlog fill to %d", upTo), n)
	start := time.Now()
	recs := b.http.batch(ctx, tag, n, fillSize, fillClients, later, p)
	el := time.Since(start)
	lat, acked, errs := merge(recs)
	p.finish(fmt.Sprintf("queued for later, %d errors", errs))
	b.queued += acked
	l := summarize(lat)
	res.Messages, res.Errors, res.Seconds, res.Rate, res.Latency = acked, errs, el.Seconds(), float64(acked)/el.Seconds(), &l
	res.Queued = b.queued
	_, res.PeakRSS, _ = b.daemon.memory()
	res.PeakRSSSinceStart = sinceStart
	res.Note = fmt.Sprintf("batches of %d from %d clients, send_at a month ahead", fillSize, fillClients)
	return res, ctx.Err()
}

// delivery measures how fast the engine drains messages that fall due
// together while the backlog stays queued, DeliveryRuns times, and
// returns the run of median rate (the note lists every run's): a single
// run is at the mercy of whatever else the machine does.
func (b *bench) delivery(ctx context.Context, queued int) (Result, error) {
	var runs []Result
	for i := range max(b.cfg.DeliveryRuns, 1) {
		r, err := b.deliveryRun(ctx, queued, i+1)
		if err != nil {
			return r, err
		}
		runs = append(runs, r)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].E2E.Rate < runs[j].E2E.Rate })
	res := runs[len(runs)/2]
	if len(runs) > 1 {
		var rates []string
		for _, r := range runs {
			rates = append(rates, count(int(r.E2E.Rate+0.5)))
		}
		note := fmt.Sprintf("median of %d runs (msg/s: %s)", len(runs), strings.Join(rates, ", "))
		if res.Note != "" {
			note += "; " + res.Note
		}
		res.Note = note
	}
	return res, nil
}

// deliveryRun is one delivery measurement: it enqueues the messages
// (untimed) with a send_at a few seconds ahead, and times their delivery
// from that moment to the last arrival at the sink.
func (b *bench) deliveryRun(ctx context.Context, queued, run int) (Result, error) {
	n := b.cfg.Delivery
	tag := phaseTag(fmt.Sprintf("delivery%dr%d", queued, run), "outbox")
	b.sink.expect(tag)
	res := Result{Phase: "delivery", Target: "outbox", Queued: b.queued}
	lead := 3*time.Second + time.Duration(n)*time.Second/5000
	due := time.Now().Add(lead).Truncate(time.Second).Add(time.Second)
	p := startProgress(b.out, b.tty, fmt.Sprintf("delivery enqueue (%d q.)", b.queued), n)
	recs := b.http.batch(ctx, tag, n, b.cfg.BatchSize, b.cfg.Clients, due, p)
	_, acked, errs := merge(recs)
	p.finish(fmt.Sprintf("scheduled for %s, %d errors", due.Format("15:04:05"), errs))
	res.Messages, res.Errors = acked, errs
	if late := time.Since(due); late > 0 {
		res.Note = fmt.Sprintf("enqueueing ended %.1fs after the due time: the figure is pessimistic", late.Seconds())
	}
	select {
	case <-time.After(time.Until(due) - 100*time.Millisecond):
	case <-ctx.Done():
		return res, ctx.Err()
	}
	sinceStart := !b.daemon.resetPeak()
	cpu0, cpuErr := b.daemon.cpu()
	if err := b.awaitDelivery(ctx, tag, fmt.Sprintf("delivery (%d queued)", b.queued), acked); err != nil {
		return res, err
	}
	res.E2E = endToEnd(b.sink.snapshot(tag), due)
	res.CPUPerMessage = b.daemon.cpuSince(cpu0, cpuErr, acked)
	_, res.PeakRSS, _ = b.daemon.memory()
	res.PeakRSSSinceStart = sinceStart
	return res, nil
}
