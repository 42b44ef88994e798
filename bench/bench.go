package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/outboxmail/outbox/internal/daemon"
)

// bench holds what a run sets up: the sink, the outbox daemon and the
// drivers; and, for a delivery phase with a large backlog, a second
// daemon that holds it.
type bench struct {
	cfg Config
	out io.Writer // progress
	tty bool
	dir string
	// bin, backend and env start a daemon (startServed).
	bin, backend string
	env          []string
	sink         *sink
	*served      // every phase's daemon, the backlog baseline's too
	backlog      *served
	// failed keeps the work dir (data dirs and the daemons' logs) for a
	// look at what went wrong.
	failed bool
	// speed is the machine's at the start, before anything else runs.
	speed time.Duration
}

// served is an outbox serve the bench drives: the process, the HTTP load
// on its API and the messages it holds queued for later.
type served struct {
	daemon *outboxd
	http   *httpLoad
	queued int
}

// newBench builds outbox and starts the sink and `outbox serve`.
func newBench(ctx context.Context, cfg Config, stderr io.Writer) (*bench, error) {
	b := &bench{cfg: cfg, out: stderr, tty: isTerminal(os.Stderr) && stderr == os.Stderr, speed: renderSpeed()}
	var err error
	if b.dir, err = os.MkdirTemp("", "outbox-bench-"); err != nil {
		return nil, err
	}
	if b.sink, err = newSink(cfg.SinkAddr); err != nil {
		b.close()
		return nil, fmt.Errorf("sink: %w", err)
	}
	b.backend = "smtp://" + b.sink.Addr() + "?tls=none"
	fmt.Fprintf(stderr, "building outbox… (work dir %s)\n", b.dir)
	if b.bin, err = daemon.Build(ctx, b.dir); err != nil {
		b.close()
		return nil, err
	}
	var extra []string
	if cfg.Profile != "" {
		extra = append(extra, "--cpuprofile", cfg.Profile)
		fmt.Fprintf(stderr, "profiling outbox serve: CPU profile to %s\n", cfg.Profile)
	}
	if cfg.Workers > 0 {
		b.env = append(b.env, fmt.Sprintf("OUTBOX_WORKERS=%d", cfg.Workers))
	}
	if b.served, err = b.startServed(ctx, "", extra); err != nil {
		b.close()
		return nil, err
	}
	smtpNote := "no SMTP listener in this build"
	if b.daemon.SMTP != "" {
		smtpNote = "SMTP on " + b.daemon.SMTP
	}
	fmt.Fprintf(stderr, "sink on %s; outbox serve (pid %d) on %s, %s\n", b.sink.Addr(), b.daemon.PID(), b.daemon.URL, smtpNote)
	return b, nil
}

// startServed starts an outbox serve on data dir "data"+suffix, logging
// to "outbox"+suffix+".log" in the work dir, delivering to the sink.
func (b *bench) startServed(ctx context.Context, suffix string, extra []string) (*served, error) {
	args := daemon.ServeArgs(append([]string{"--data-dir", filepath.Join(b.dir, "data"+suffix),
		"--backend", b.backend}, extra...)...)
	d, err := startDaemon(ctx, b.bin, args, filepath.Join(b.dir, "outbox"+suffix+".log"), b.env)
	if err != nil {
		b.failed = true
		return nil, err
	}
	load, err := newHTTPLoad(d.URL, max(b.cfg.Clients, 4))
	if err != nil {
		d.stop()
		return nil, err
	}
	return &served{daemon: d, http: load}, nil
}

// daemons returns the daemons started: every phase's, and the backlog's
// when there is one.
func (b *bench) daemons() []*served {
	var out []*served
	for _, s := range []*served{b.served, b.backlog} {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// close stops everything and removes the work dir, unless --keep or the
// run failed.
func (b *bench) close() {
	for _, s := range b.daemons() {
		s.http.closeIdle()
		if err := s.daemon.stop(); err != nil {
			fmt.Fprintln(b.out, err)
		}
	}
	if b.sink != nil {
		b.sink.Close()
	}
	switch {
	case b.dir == "":
	case b.cfg.Keep || b.failed:
		fmt.Fprintf(b.out, "kept %s (data dir and outbox.log)\n", b.dir)
	default:
		os.RemoveAll(b.dir)
	}
}

// runAll runs every phase the flags ask for and returns the report.
func (b *bench) runAll(ctx context.Context) (*Report, error) {
	rep := newReport(b.cfg)
	rep.Speed.RenderStart = b.speed
	add := func(r Result, err error) error {
		if err != nil {
			return err
		}
		rep.Results = append(rep.Results, r)
		return ctx.Err()
	}
	c := b.cfg
	if c.HTTPSingle > 0 {
		if err := add(b.measure(ctx, "http-single", "outbox", c.HTTPSingle, func(tag string, p *progress) []*recorder {
			return b.http.single(ctx, tag, c.HTTPSingle, c.Clients, p)
		})); err != nil {
			return nil, err
		}
	}
	if c.HTTPBatch > 0 {
		if err := add(b.measure(ctx, "http-batch", "outbox", c.HTTPBatch, func(tag string, p *progress) []*recorder {
			return b.http.batch(ctx, tag, c.HTTPBatch, c.BatchSize, c.Clients, time.Time{}, p)
		})); err != nil {
			return nil, err
		}
	}
	if c.PacedRate > 0 {
		n := int(float64(c.PacedRate) * c.PacedFor.Seconds())
		if err := add(b.measure(ctx, "http-paced", "outbox", n, func(tag string, p *progress) []*recorder {
			return b.http.paced(ctx, tag, c.PacedRate, c.PacedFor, p)
		})); err != nil {
			return nil, err
		}
	}
	if c.SMTP > 0 {
		if b.daemon.SMTP == "" {
			rep.Results = append(rep.Results, Result{Phase: "smtp", Target: "outbox", Note: "skipped: this outbox serve has no SMTP listener"})
		} else if err := add(b.measure(ctx, "smtp", "outbox", c.SMTP, func(tag string, p *progress) []*recorder {
			return smtpLoad(ctx, b.daemon.SMTP, tag, c.SMTP, c.Sessions, p)
		})); err != nil {
			return nil, err
		}
		if c.Peer != "" {
			if err := add(b.measure(ctx, "smtp", "peer", c.SMTP, func(tag string, p *progress) []*recorder {
				return smtpLoad(ctx, c.Peer, tag, c.SMTP, c.Sessions, p)
			})); err != nil {
				return nil, err
			}
		}
	}
	if c.Delivery > 0 {
		results, err := b.deliveryPhases(ctx)
		for _, r := range results {
			if err := add(r, nil); err != nil {
				return nil, err
			}
		}
		if err != nil {
			return nil, err
		}
	}
	// The per-phase readings reset the kernel's peak; the run's peak is
	// the largest of them and the last reading.
	if _, peak, err := b.daemon.memory(); err == nil {
		rep.PeakRSS = peak
	}
	for _, r := range rep.Results {
		rep.PeakRSS = max(rep.PeakRSS, r.PeakRSS)
	}
	for _, s := range b.daemons() {
		if !s.daemon.Alive() {
			return nil, fmt.Errorf("outbox serve died during the run: %v", s.daemon.Wait())
		}
	}
	rep.Speed.RenderEnd = renderSpeed()
	rep.finish()
	return rep, nil
}

// backlogSteps lists the backlogs the delivery phase runs with: the
// baseline, then the --backlog asked for when it is larger.
func backlogSteps(backlog int) []int {
	if backlog > BaseBacklog {
		return []int{BaseBacklog, backlog}
	}
	return []int{BaseBacklog}
}

// phaseTag is the phase's name in Message-IDs, distinct per target.
func phaseTag(phase, target string) string { return phase + "-" + target }

// measure runs one submission phase: submit sends total messages with
// the phase's tag in their Message-IDs and returns its recorders; measure then waits for the sink to receive every
// acknowledged message and reads the daemon's peak RSS.
func (b *bench) measure(ctx context.Context, phase, target string, total int, submit func(tag string, p *progress) []*recorder) (Result, error) {
	tag := phaseTag(phase, target)
	b.sink.expect(tag)
	res := Result{Phase: phase, Target: target, Queued: b.queued}
	sinceStart := target == "outbox" && !b.daemon.resetPeak()
	p := startProgress(b.out, b.tty, phase+" ("+target+")", total)
	cpu0, cpuErr := b.daemon.cpu()
	self0 := selfCPU()
	start := time.Now()
	recs := submit(tag, p)
	el := time.Since(start)
	lat, acked, errs := merge(recs)
	p.finish(fmt.Sprintf("acknowledged, %d errors", errs))
	res.Messages, res.Errors, res.Seconds = acked, errs, el.Seconds()
	res.Rate = float64(acked) / el.Seconds()
	l := summarize(lat)
	res.Latency = &l
	if err := b.awaitDelivery(ctx, tag, phase+" delivery", acked); err != nil {
		return res, err
	}
	res.E2E = endToEnd(b.sink.snapshot(tag), start)
	res.BenchCPUPerMessage = perMessage(selfCPU()-self0, acked)
	if target == "outbox" {
		res.CPUPerMessage = b.daemon.cpuSince(cpu0, cpuErr, acked)
		_, res.PeakRSS, _ = b.daemon.memory()
		res.PeakRSSSinceStart = sinceStart
	}
	if !b.daemon.Alive() {
		return res, fmt.Errorf("outbox serve died during %s: %v", phase, b.daemon.Wait())
	}
	return res, nil
}

// awaitDelivery waits for n messages of a phase to reach the sink, with a
// progress bar.
func (b *bench) awaitDelivery(ctx context.Context, tag, label string, n int) error {
	p := startProgress(b.out, b.tty, label, n)
	err := b.sink.waitFor(tag, n, time.Minute, func(got int) { p.set(got) })
	a := b.sink.snapshot(tag)
	p.finish(fmt.Sprintf("delivered, %d duplicates", a.Dups))
	if err == nil {
		err = ctx.Err()
	}
	return err
}
