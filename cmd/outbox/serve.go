package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend"
	"github.com/outboxmail/outbox/backend/console"
	"github.com/outboxmail/outbox/backend/file"
	"github.com/outboxmail/outbox/backend/memory"
	"github.com/outboxmail/outbox/backend/null"
	"github.com/outboxmail/outbox/backend/smtp"
	"github.com/outboxmail/outbox/httpapi"
	"github.com/outboxmail/outbox/sqlite"
)

// shutdownGrace bounds a graceful stop: in-flight deliveries get this long
// to finish before they are cancelled and their messages released.
const shutdownGrace = 30 * time.Second

// serve runs Outbox with cfg until ctx is done: the store, the delivery
// engine, the SMTP listeners and the HTTP API. It logs one "listening"
// line per listener with the address actually bound (so ":0" can be
// used), SMTP before HTTP, then "outbox started" once all are up.
func serve(ctx context.Context, cfg Config, stdout, stderr io.Writer) error {
	log := newLogger(cfg, stderr)

	set, router, err := openBackends(cfg)
	if err != nil {
		return err
	}
	defer set.Close()

	st, err := openStore(ctx, cfg.DataDir)
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	if n := st.Recovered(); n > 0 {
		log.Warn("returned messages left sending by a previous process to the queue", "count", n)
	}

	eng, err := outbox.NewEngine(outbox.EngineConfig{
		Store:     st,
		Backends:  set.Backend,
		Saturated: set.Saturated,
		Workers:   cfg.Workers,
		Retry:     cfg.Retry,
		Timeout:   cfg.Delivery.Timeout,
		Lease:     cfg.Delivery.Lease,
		Retention: cfg.engineRetention(),
		Logger:    log,
	})
	if err != nil {
		return err
	}
	client, err := outbox.NewClient(outbox.ClientConfig{
		Store:        st,
		Notify:       eng.Notify,
		Handoff:      eng,
		KnownBackend: set.Has,
		Route:        router.Route,
	})
	if err != nil {
		return err
	}

	hostname := cfg.hostname()
	smtpSvc, err := startSMTP(cfg, hostname, client, log)
	if err != nil {
		return err
	}
	defer smtpSvc.Shutdown(canceled()) // after a failed start; no-op after a graceful stop

	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("http_addr: %w", err)
	}
	srv := &http.Server{
		Handler: httpapi.New(httpapi.Config{
			Client:       client,
			Tokens:       cfg.APITokens,
			MaxBodyBytes: cfg.MaxMessageSize,
			Logger:       log,
		}),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       5 * time.Minute, // a whole request, body included: a stalled upload cannot hold a connection forever
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	httpErr := make(chan error, 1)
	go func() { httpErr <- srv.Serve(ln) }()
	log.Info("listening", "service", "http", "addr", ln.Addr().String())

	if err := eng.Start(ctx); err != nil {
		srv.Close()
		return err
	}
	if cfg.Redirect != nil {
		log.Info("staging: recipients not allowed are redirected", "redirect_to", strings.Join(cfg.Redirect.To, ","),
			"allow", strings.Join(cfg.Redirect.Allow, ","))
	}
	log.Info("outbox started", "data_dir", cfg.DataDir, "profile", orDefault(cfg.Profile, "none"),
		"backend", redactBackend(cfg.named()[backend.DefaultName]), "backends", strings.Join(set.Names(), ","),
		"routes", len(cfg.Routes), "workers", cfg.Workers, "hostname", hostname,
		"gomaxprocs", runtime.GOMAXPROCS(0))

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-httpErr:
		runErr = fmt.Errorf("http server: %w", err)
	case err := <-smtpSvc.Err():
		runErr = fmt.Errorf("smtp server: %w", err)
	}

	// Everything at once, under one deadline: no new connections, and
	// requests and SMTP transactions under way get their answer (so every
	// 250 and 202 given is committed); the engine claims nothing more and
	// lets deliveries under way finish (mail committed meanwhile waits,
	// queued, for the next start). Then (deferred) the store.
	stopCtx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := srv.Shutdown(stopCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Warn("http shutdown", "err", err)
		}
	})
	wg.Go(func() {
		if err := smtpSvc.Shutdown(stopCtx); err != nil {
			log.Warn("smtp shutdown: transactions cut short", "err", err)
		}
	})
	wg.Go(func() {
		if err := eng.Stop(stopCtx); err != nil {
			log.Warn("engine stop", "err", err)
		}
	})
	wg.Wait()
	log.Info("stopped")
	return runErr
}

// storeLockWait is how long serve waits for the data directory's lock: a
// `outbox sendmail` that found no server holds it for a moment while it
// enqueues, which must not stop a server that is (re)starting.
const storeLockWait = 3 * time.Second

// openStore opens the SQLite store in dir, waiting up to storeLockWait
// while another process holds the directory.
func openStore(ctx context.Context, dir string) (*sqlite.Store, error) {
	deadline := time.Now().Add(storeLockWait)
	for {
		st, err := sqlite.Open(ctx, sqlite.Config{Dir: dir})
		if !errors.Is(err, sqlite.ErrLocked) || time.Now().After(deadline) {
			return st, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// canceled returns a context that is already done.
func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// schemes is the table of backend URL schemes serve knows.
func schemes(cfg Config) backend.Schemes {
	return backend.Schemes{
		"smtp":    smtpOpener(cfg),
		"smtps":   smtpOpener(cfg),
		"console": opener(console.FromURL),
		"file":    opener(file.FromURL),
		"memory":  opener(memory.FromURL),
		"null":    opener(null.FromURL),
	}
}

// opener adapts a package's FromURL to backend.Opener, so that a failed
// open returns a nil interface rather than a typed nil pointer.
func opener[B outbox.Backend](open func(*url.URL) (B, error)) backend.Opener {
	return func(u *url.URL) (outbox.Backend, error) {
		b, err := open(u)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
}

// smtpOpener opens smtp:// and smtps:// URLs, using hostname as the EHLO
// name when the URL does not set one.
func smtpOpener(cfg Config) backend.Opener {
	return func(u *url.URL) (outbox.Backend, error) {
		// A query that does not parse is left as it is, for FromURL to
		// refuse: u.Query() would drop its bad pairs.
		q, err := url.ParseQuery(u.RawQuery)
		if cfg.Hostname != "" && err == nil && !q.Has("ehlo") {
			q.Set("ehlo", cfg.Hostname)
			v := *u
			v.RawQuery = q.Encode()
			u = &v
		}
		return opener(smtp.FromURL)(u)
	}
}
