// Package profiled runs Outbox as `outbox serve` does, with the same
// packages and their default settings, under a CPU profile. The bench
// starts it, in a child process of its own, instead of the outbox binary
// when given the hidden --cpuprofile flag: outbox serve has no profiling
// hook, and the bench may not add one to it.
//
// It wires the SQLite store, the engine, the HTTP API and the SMTP
// listener as cmd/outbox's serve does, logs the same "listening" and
// "outbox started" lines, and writes the profile when it receives SIGTERM
// or SIGINT. It is a diagnostic copy of that wiring, not a second daemon:
// options beyond those below take the packages' defaults.
package profiled

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend/smtp"
	"github.com/outboxmail/outbox/httpapi"
	"github.com/outboxmail/outbox/smtpd"
	"github.com/outboxmail/outbox/sqlite"
)

// Options are the profiled server's settings.
type Options struct {
	Profile  string // CPU profile file
	DataDir  string
	HTTPAddr string
	SMTPAddr string
	Backend  string // an smtp:// URL
	Workers  int    // 0: the engine's default
}

// ParseArgs reads the options from command-line arguments.
func ParseArgs(args []string) (Options, error) {
	var o Options
	fs := flag.NewFlagSet("profiled", flag.ContinueOnError)
	fs.StringVar(&o.Profile, "profile", "", "CPU profile file")
	fs.StringVar(&o.DataDir, "data-dir", "", "data directory")
	fs.StringVar(&o.HTTPAddr, "http-addr", "127.0.0.1:0", "HTTP address")
	fs.StringVar(&o.SMTPAddr, "smtp-addr", "127.0.0.1:0", "SMTP address")
	fs.StringVar(&o.Backend, "backend", "", "smtp:// backend URL")
	fs.IntVar(&o.Workers, "workers", 0, "delivery workers")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.Profile == "" || o.DataDir == "" || o.Backend == "" {
		return o, errors.New("profiled: --profile, --data-dir and --backend are required")
	}
	return o, nil
}

// Main runs the server until SIGTERM or SIGINT, logging to stderr, and
// writes the CPU profile.
func Main(o Options) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	f, err := os.Create(o.Profile)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := pprof.StartCPUProfile(f); err != nil {
		return err
	}
	defer pprof.StopCPUProfile()
	return serve(ctx, o, slog.New(slog.NewTextHandler(os.Stderr, nil)))
}

// serve is cmd/outbox's serve, reduced to the settings of Options.
func serve(ctx context.Context, o Options, log *slog.Logger) error {
	u, err := url.Parse(o.Backend)
	if err != nil {
		return err
	}
	def, err := smtp.FromURL(u)
	if err != nil {
		return err
	}
	defer def.Close()
	st, err := sqlite.Open(ctx, sqlite.Config{Dir: o.DataDir})
	if err != nil {
		return err
	}
	defer st.Close()
	eng, err := outbox.NewEngine(outbox.EngineConfig{
		Store: st,
		Backends: func(name string) (outbox.Backend, error) {
			if name == "" {
				return def, nil
			}
			return nil, fmt.Errorf("backend %q is not configured", name)
		},
		Workers: o.Workers,
		Logger:  log,
	})
	if err != nil {
		return err
	}
	client, err := outbox.NewClient(outbox.ClientConfig{Store: st, Notify: eng.Notify})
	if err != nil {
		return err
	}

	smtpSrv, err := smtpd.New(smtpd.Config{Client: client, Addr: o.SMTPAddr, Hostname: "localhost", Logger: log})
	if err != nil {
		return err
	}
	sln, err := net.Listen("tcp", o.SMTPAddr)
	if err != nil {
		return err
	}
	log.Info("listening", "service", "smtp", "addr", sln.Addr().String())
	go func() { _ = smtpSrv.Serve(sln) }()

	hln, err := net.Listen("tcp", o.HTTPAddr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           httpapi.New(httpapi.Config{Client: client, Logger: log}),
		ReadHeaderTimeout: 10 * time.Second,
	}
	go func() { _ = srv.Serve(hln) }()
	log.Info("listening", "service", "http", "addr", hln.Addr().String())
	if err := eng.Start(ctx); err != nil {
		return err
	}
	log.Info("outbox started", "data_dir", o.DataDir)

	<-ctx.Done()
	stopCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = srv.Shutdown(stopCtx)
	_ = smtpSrv.Shutdown(stopCtx)
	return eng.Stop(stopCtx)
}
