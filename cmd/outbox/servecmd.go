package main

import (
	"context"
	"flag"
	"os/signal"
)

// serveCmd defines the flags of `outbox serve` and returns the command,
// which loads and validates the configuration, then hands it to serve.
func serveCmd(fs *flag.FlagSet, e *env) func(ctx context.Context, args []string) error {
	load := serveFlags(fs, e)
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the whole run to `file` (for go tool pprof)")
	return func(ctx context.Context, _ []string) error {
		cfg, err := load()
		if err != nil {
			return err
		}
		tuneGC(e.getenv)
		tuneProcs(e.getenv)
		ctx, stop := signal.NotifyContext(ctx, stopSignals...) // a graceful stop
		defer stop()
		if *cpuprofile != "" {
			stop, err := startCPUProfile(*cpuprofile)
			if err != nil {
				return err
			}
			defer stop()
		}
		return serve(ctx, cfg, e.stdout, e.stderr)
	}
}

// serveFlags defines serve's flags and returns the function that builds
// the configuration once they are parsed: defaults < config file <
// environment < flags, then validate.
func serveFlags(fs *flag.FlagSet, e *env) func() (Config, error) {
	path := fs.String("config", e.getenv("OUTBOX_CONFIG"), "TOML config `file` (env OUTBOX_CONFIG); none by default")
	dataDir := fs.String("data-dir", "", "data `directory`, overriding data_dir (default ./outbox-data)")
	httpAddr := fs.String("http-addr", "", "HTTP listen `address`, overriding http_addr (default 127.0.0.1:8025)")
	backend := fs.String("backend", "", "default backend `expression`, overriding backend (default console:)")
	profile := fs.String("profile", "", "active `profile` of the config file: development, staging or production (env OUTBOX_PROFILE)")
	workers := fs.Int("workers", 0, "concurrent deliveries, overriding workers (default 32)")
	smtpAddr := fs.String("smtp-addr", "", "SMTP (STARTTLS) listen `address`, overriding smtp_addr (default 127.0.0.1:2525; \"off\" disables)")
	smtpsAddr := fs.String("smtps-addr", "", "SMTP implicit-TLS listen `address`, overriding smtps_addr (default off)")
	return func() (Config, error) {
		cfg, err := loadConfig(*path, *profile, e.getenv)
		if err != nil {
			return Config{}, err
		}
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "data-dir":
				cfg.DataDir = *dataDir
			case "http-addr":
				cfg.HTTPAddr = *httpAddr
			case "backend":
				cfg.setBackend(*backend)
			case "workers":
				cfg.Workers = *workers
			case "smtp-addr":
				cfg.SMTP.Addr = listenAddr(*smtpAddr)
			case "smtps-addr":
				cfg.SMTP.TLSAddr = listenAddr(*smtpsAddr)
			}
		})
		if err := cfg.validate(); err != nil {
			return Config{}, err
		}
		if err := checkOtherProfiles(*path, cfg.Profile, e.getenv); err != nil {
			return Config{}, err
		}
		return cfg, nil
	}
}
