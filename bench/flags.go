package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Config holds the bench's flags.
type Config struct {
	// HTTPSingle is the number of messages of the http-single phase.
	HTTPSingle int
	// HTTPBatch is the number of messages of the http-batch phase.
	HTTPBatch int
	// BatchSize is the number of messages per batch request.
	BatchSize int
	// Clients is the number of concurrent HTTP clients.
	Clients int
	// PacedRate and PacedFor set the open-loop phase: its offered rate in
	// messages per second and its length.
	PacedRate int
	PacedFor  time.Duration
	// SMTP is the number of messages of the smtp phase; Sessions the
	// number of concurrent SMTP sessions.
	SMTP     int
	Sessions int
	// Delivery is the number of messages released at once in each
	// delivery phase.
	Delivery int
	// DeliveryRuns is how many times each delivery phase runs; the
	// report keeps the run of median rate.
	DeliveryRuns int
	// Backlog, when above BaseBacklog, adds a delivery phase with that
	// many messages queued for later.
	Backlog int
	// Peer is the address of another relay to compare with; SinkAddr
	// fixes the sink's listening address so that the peer can relay to it.
	Peer     string
	SinkAddr string
	// Workers overrides outbox serve's workers when positive.
	Workers int
	// JSON prints the report as JSON.
	JSON bool
	// Keep leaves the temporary directory (data dir, logs) in place.
	Keep bool
	// Profile, when set (--cpuprofile), makes outbox serve write its CPU
	// profile of the run to this file (serve's own --cpuprofile flag).
	Profile string
}

// BaseBacklog is the backlog of the first delivery phase, the baseline a
// larger backlog is compared with.
const BaseBacklog = 1000

// defaultConfig returns sizes that finish within a few minutes on two
// cores.
func defaultConfig() Config {
	return Config{
		HTTPSingle:   20000,
		HTTPBatch:    100000,
		BatchSize:    100,
		Clients:      20,
		PacedRate:    1000,
		PacedFor:     10 * time.Second,
		SMTP:         10000,
		Sessions:     20,
		Delivery:     10000,
		DeliveryRuns: 3,
		Backlog:      BaseBacklog,
		SinkAddr:     "127.0.0.1:0",
	}
}

// quickConfig returns CI-sized phases.
func quickConfig() Config {
	c := defaultConfig()
	c.HTTPSingle, c.HTTPBatch, c.SMTP, c.Delivery = 2000, 10000, 1000, 1000
	c.PacedFor = 3 * time.Second
	c.DeliveryRuns = 1
	return c
}

// parseFlags parses args; --quick changes the defaults, which explicit
// flags then override.
func parseFlags(args []string, stderr io.Writer) (Config, error) {
	quick := false
	for _, a := range args {
		if a == "--quick" || a == "-quick" || a == "--quick=true" || a == "-quick=true" {
			quick = true
		}
	}
	c := defaultConfig()
	if quick {
		c = quickConfig()
	}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Bool("quick", false, "CI-sized phases (flags given explicitly still apply)")
	fs.IntVar(&c.HTTPSingle, "http-messages", c.HTTPSingle, "messages of the http-single phase (0 skips it)")
	fs.IntVar(&c.HTTPBatch, "batch-messages", c.HTTPBatch, "messages of the http-batch phase (0 skips it)")
	fs.IntVar(&c.BatchSize, "batch-size", c.BatchSize, "messages per batch request")
	fs.IntVar(&c.Clients, "clients", c.Clients, "concurrent HTTP clients")
	fs.IntVar(&c.PacedRate, "paced-rate", c.PacedRate, "offered rate of the http-paced phase, msg/s (0 skips it)")
	fs.DurationVar(&c.PacedFor, "paced-for", c.PacedFor, "length of the http-paced phase")
	fs.IntVar(&c.SMTP, "smtp-messages", c.SMTP, "messages of the smtp phase (0 skips it)")
	fs.IntVar(&c.Sessions, "sessions", c.Sessions, "concurrent SMTP sessions")
	fs.IntVar(&c.Delivery, "delivery-messages", c.Delivery, "messages released at once in each delivery phase (0 skips them)")
	fs.IntVar(&c.DeliveryRuns, "delivery-runs", c.DeliveryRuns, "runs of each delivery phase; the report keeps the median")
	fs.IntVar(&c.Backlog, "backlog", c.Backlog, fmt.Sprintf("messages queued for later during the last delivery phase (above %d adds a phase)", BaseBacklog))
	fs.StringVar(&c.Peer, "peer", "", "`address` of another relay to run the smtp phase against too (it must relay to --sink-addr)")
	fs.StringVar(&c.SinkAddr, "sink-addr", c.SinkAddr, "listening `address` of the bench's SMTP sink")
	fs.IntVar(&c.Workers, "workers", 0, "outbox serve's delivery workers (0: its default)")
	fs.BoolVar(&c.JSON, "json", false, "print the report as JSON")
	fs.BoolVar(&c.Keep, "keep", false, "keep the temporary directory (data dir and logs)")
	fs.StringVar(&c.Profile, "cpuprofile", "", "write outbox serve's CPU profile of the run to `file`")
	if err := fs.Parse(args); err != nil {
		return Config{}, err
	}
	if fs.NArg() > 0 {
		return Config{}, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return c, c.validate()
}

// validate checks the configuration, naming the flag at fault.
func (c Config) validate() error {
	var errs []error
	bad := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", flag, fmt.Sprintf(format, args...)))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"http-messages", c.HTTPSingle}, {"batch-messages", c.HTTPBatch}, {"paced-rate", c.PacedRate},
		{"smtp-messages", c.SMTP}, {"delivery-messages", c.Delivery}, {"delivery-runs", c.DeliveryRuns}, {"backlog", c.Backlog}, {"workers", c.Workers}} {
		if f.v < 0 {
			bad(f.name, "must not be negative")
		}
	}
	if c.Clients < 1 {
		bad("clients", "must be at least 1")
	}
	if c.Sessions < 1 {
		bad("sessions", "must be at least 1")
	}
	if c.BatchSize < 1 || c.BatchSize > 1000 {
		bad("batch-size", "must be between 1 and 1000 (the API's limit)")
	}
	if c.PacedRate > 0 && c.PacedFor <= 0 {
		bad("paced-for", "must be positive")
	}
	if err := loopbackAddr(c.SinkAddr); err != nil {
		bad("sink-addr", "%v", err)
	}
	if c.Peer != "" {
		if err := loopbackAddr(c.Peer); err != nil {
			bad("peer", "%v", err)
		}
	}
	return errors.Join(errs...)
}

// loopbackAddr checks that addr is host:port on a loopback IP: the bench
// sends traffic nowhere else.
func loopbackAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("%q is not a loopback IP address (127.0.0.1 or ::1)", host)
	}
	return nil
}
