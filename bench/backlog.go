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

// deliveryPhases fills the baseline backlog on the bench's daemon and,
// when --backlog asks for a larger one, that backlog on a second daemon
// of its own; then it measures delivery with each, their runs
// alternating, so that the ratio of the two compares runs made side by
// side rather than minutes apart on a machine whose speed drifts. It
// returns the fills, then each backlog's delivery result.
func (b *bench) deliveryPhases(ctx context.Context) ([]Result, error) {
	var out []Result
	targets := []*served{b.served}
	steps := backlogSteps(b.cfg.Backlog)
	if len(steps) > 1 {
		fmt.Fprintf(b.out, "starting a second outbox serve for the backlog of %d\n", steps[1])
		var err error
		if b.backlog, err = b.startServed(ctx, "-backlog", nil); err != nil {
			return nil, err
		}
		targets = append(targets, b.backlog)
	}
	for i, t := range targets {
		r, err := b.fill(ctx, t, steps[i])
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	runs := make([][]Result, len(targets))
	for run := range max(b.cfg.DeliveryRuns, 1) {
		for i, t := range targets {
			r, err := b.deliveryRun(ctx, t, run+1)
			if err != nil {
				return out, err
			}
			runs[i] = append(runs[i], r)
		}
	}
	for _, rs := range runs {
		out = append(out, median(rs))
	}
	return out, nil
}

// fill queues messages for a month from now on t until upTo are queued,
// as fast as the batch API takes them. They stay queued for the rest of
// the run: the backlog the delivery phase then works beside.
func (b *bench) fill(ctx context.Context, t *served, upTo int) (Result, error) {
	n := upTo - t.queued
	res := Result{Phase: "backlog-fill", Target: "outbox", Queued: upTo}
	if n <= 0 {
		return res, nil
	}
	sinceStart := !t.daemon.resetPeak()
	later := time.Now().Add(30 * 24 * time.Hour).Truncate(time.Second)
	tag := phaseTag(fmt.Sprintf("backlog%d", upTo), "outbox")
	p := startProgress(b.out, b.tty, fmt.Sprintf("backlog fill to %d", upTo), n)
	start := time.Now()
	recs := t.http.batch(ctx, tag, n, fillSize, fillClients, later, p)
	el := time.Since(start)
	lat, acked, errs := merge(recs)
	p.finish(fmt.Sprintf("queued for later, %d errors", errs))
	t.queued += acked
	l := summarize(lat)
	res.Messages, res.Errors, res.Seconds, res.Rate, res.Latency = acked, errs, el.Seconds(), float64(acked)/el.Seconds(), &l
	res.Queued = t.queued
	_, res.PeakRSS, _ = t.daemon.memory()
	res.PeakRSSSinceStart = sinceStart
	res.Note = fmt.Sprintf("batches of %d from %d clients, send_at a month ahead", fillSize, fillClients)
	return res, ctx.Err()
}

// median returns the run of median delivery rate (the note lists every
// run's): a single run is at the mercy of whatever else the machine does.
func median(runs []Result) Result {
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
	return res
}

// deliveryRun is one delivery measurement: it enqueues the messages
// (untimed) with a send_at a few seconds ahead, and times their delivery
// from that moment to the last arrival at the sink.
func (b *bench) deliveryRun(ctx context.Context, t *served, run int) (Result, error) {
	n := b.cfg.Delivery
	tag := phaseTag(fmt.Sprintf("delivery%dr%d", t.queued, run), "outbox")
	b.sink.expect(tag)
	res := Result{Phase: "delivery", Target: "outbox", Queued: t.queued}
	lead := 3*time.Second + time.Duration(n)*time.Second/5000
	due := time.Now().Add(lead).Truncate(time.Second).Add(time.Second)
	p := startProgress(b.out, b.tty, fmt.Sprintf("delivery enqueue (%d q.)", t.queued), n)
	recs := t.http.batch(ctx, tag, n, b.cfg.BatchSize, b.cfg.Clients, due, p)
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
	sinceStart := !t.daemon.resetPeak()
	cpu0, cpuErr := t.daemon.cpu()
	if err := b.awaitDelivery(ctx, tag, fmt.Sprintf("delivery (%d queued)", t.queued), acked); err != nil {
		return res, err
	}
	res.E2E = endToEnd(b.sink.snapshot(tag), due)
	res.CPUPerMessage = t.daemon.cpuSince(cpu0, cpuErr, acked)
	_, res.PeakRSS, _ = t.daemon.memory()
	res.PeakRSSSinceStart = sinceStart
	return res, nil
}
