package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/backend"
	"github.com/outboxmail/outbox/backend/limit"
	"github.com/outboxmail/outbox/backend/redirect"
)

// Config is the configuration of `outbox serve`. It is built in layers,
// each overriding the one before: the defaults (defaultConfig), the TOML
// file (--config or OUTBOX_CONFIG), the OUTBOX_* environment variables
// listed by envVars, then the serve command's flags; validate checks the
// result.
type Config struct {
	// DataDir holds the SQLite database (data_dir).
	DataDir string
	// HTTPAddr is the listen address of the HTTP API, dashboard and
	// metrics (http_addr).
	HTTPAddr string
	// Backend is the default backend's expression (backend), e.g.
	// "console:", "smtp://relay:587" or "fanout(relay console:)"; the
	// serve wiring parses it. [backends] default replaces it.
	Backend string
	// Backends are the named backends ([backends]): name → expression of
	// the backend grammar, which may name one another.
	Backends map[string]string
	// Routes choose the backend of a message that names none
	// ([[routes]]); the first that matches wins.
	Routes []backend.Rule
	// Limits are the limits of the named backends ([limits.NAME]), by
	// name; Name and Now are left for the serve wiring.
	Limits map[string]limit.Config
	// Profile is the active profile of the config file (OUTBOX_PROFILE,
	// --profile): "", development, staging or production.
	Profile string
	// Redirect is the staging profile's redirect ([profiles.staging]
	// redirect_to, allow); nil under any other profile.
	Redirect *redirect.Config
	// Workers is the number of concurrent deliveries (workers).
	Workers int
	// APITokens are the bearer tokens the HTTP API accepts (api_tokens);
	// none means no authentication, allowed on loopback only.
	APITokens []string
	// MaxMessageSize limits a message, and an HTTP request body, in bytes
	// (max_message_size).
	MaxMessageSize int64
	// Retention is how long sent, failed, expired and cancelled messages
	// are kept (retention); 0 disables purging. See engineRetention.
	Retention time.Duration
	// Hostname is the EHLO name and the Message-ID domain fallback
	// (hostname); empty means os.Hostname(), resolved by the serve wiring.
	Hostname string
	// LogLevel is the minimum level logged (log_level: debug, info, warn
	// or error).
	LogLevel slog.Level
	// LogFormat is "text" or "json" (log_format).
	LogFormat string
	// Retry is the retry policy ([retry] min_delay, max_delay,
	// max_attempts, max_lifetime).
	Retry outbox.RetryPolicy
	// Delivery bounds each delivery attempt ([delivery] timeout, lease).
	Delivery DeliveryConfig
	// SMTP configures the SMTP submission listeners (the smtp_* keys).
	SMTP SMTPConfig
}

// DeliveryConfig bounds delivery attempts.
type DeliveryConfig struct {
	// Timeout bounds one delivery attempt (delivery.timeout).
	Timeout time.Duration
	// Lease is how long a claim holds a message (delivery.lease); it must
	// exceed Timeout.
	Lease time.Duration
}

// defaultConfig returns the configuration used when nothing is set: safe
// to run as it is (loopback only, console backend, SQLite in
// ./outbox-data).
func defaultConfig() Config {
	return Config{
		DataDir:        "./outbox-data",
		HTTPAddr:       "127.0.0.1:8025",
		Backend:        "console:",
		Workers:        32,
		MaxMessageSize: 25 << 20,
		Retention:      720 * time.Hour,
		LogLevel:       slog.LevelInfo,
		LogFormat:      "text",
		Retry: outbox.RetryPolicy{
			MinDelay:    30 * time.Second,
			MaxDelay:    time.Hour,
			MaxAttempts: 0,
			MaxLifetime: 120 * time.Hour,
		},
		Delivery: DeliveryConfig{
			Timeout: 2 * time.Minute,
			Lease:   5 * time.Minute,
		},
		SMTP: defaultSMTPConfig(),
	}
}

// validate checks the configuration; each error names the config key.
func (c Config) validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if strings.TrimSpace(c.DataDir) == "" {
		bad("data_dir", "must not be empty")
	}
	if err := c.checkHTTPAddr(); err != nil {
		errs = append(errs, err)
	}
	if strings.TrimSpace(c.Backend) == "" {
		bad("backend", `must not be empty (e.g. "console:" or "smtp://relay.example.com:587")`)
	}
	if c.Workers < 1 {
		bad("workers", "must be at least 1, got %d", c.Workers)
	}
	for i, t := range c.APITokens {
		if t == "" || strings.ContainsAny(t, " \t\r\n,") {
			bad(fmt.Sprintf("api_tokens[%d]", i), "must be non-empty, without spaces or commas")
		}
	}
	if c.MaxMessageSize < 1024 {
		bad("max_message_size", "must be at least 1024 bytes, got %d", c.MaxMessageSize)
	}
	if c.Retention < 0 {
		bad("retention", `must not be negative ("0" disables purging)`)
	}
	if c.Hostname != "" && !validHostname(c.Hostname) {
		bad("hostname", "%q is not a valid host name", c.Hostname)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("log_format", "%q is not text or json", c.LogFormat)
	}
	r := c.Retry
	switch {
	case r.MinDelay <= 0:
		bad("retry.min_delay", "must be positive, got %s", r.MinDelay)
	case r.MaxDelay < r.MinDelay:
		bad("retry.min_delay", "must be ≤ retry.max_delay (%s > %s)", r.MinDelay, r.MaxDelay)
	}
	if r.MaxAttempts < 0 {
		bad("retry.max_attempts", "must not be negative (0 means no limit)")
	}
	if r.MaxLifetime <= 0 {
		bad("retry.max_lifetime", "must be positive, got %s", r.MaxLifetime)
	}
	d := c.Delivery
	switch {
	case d.Timeout <= 0:
		bad("delivery.timeout", "must be positive, got %s", d.Timeout)
	case d.Lease <= d.Timeout:
		bad("delivery.lease", "must exceed delivery.timeout (%s ≤ %s)", d.Lease, d.Timeout)
	}
	errs = append(errs, c.SMTP.validate(c.MaxMessageSize)...)
	errs = append(errs, c.validateProfile()...)
	return errors.Join(errs...)
}

// setBackend sets the default backend from a layer over the file
// (environment, flags): it replaces the default whichever key of the file
// set it, backend or [backends] default.
func (c *Config) setBackend(expr string) {
	c.Backend = expr
	delete(c.Backends, backend.DefaultName)
}

// checkHTTPAddr checks http_addr and the rule that a non-loopback address
// needs authentication.
func (c Config) checkHTTPAddr() error {
	host, port, err := net.SplitHostPort(c.HTTPAddr)
	if err != nil {
		return fmt.Errorf("http_addr: %q is not host:port (e.g. 127.0.0.1:8025)", c.HTTPAddr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("http_addr: invalid port %q in %q", port, c.HTTPAddr)
	}
	if len(c.APITokens) == 0 && !isLoopback(host) {
		where := "not loopback"
		if host == "" {
			where = "every interface, not loopback"
		}
		return fmt.Errorf("http_addr: listening on %s (%s) requires api_tokens: set api_tokens in the config file or OUTBOX_API_TOKENS", c.HTTPAddr, where)
	}
	return nil
}

// isLoopback reports whether a listen host is "localhost" or a loopback IP.
// An empty host, 0.0.0.0 and :: listen on every interface.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// validHostname reports whether s is a DNS name of letters, digits,
// hyphens and dots.
func validHostname(s string) bool {
	if len(s) > 253 {
		return false
	}
	for _, label := range strings.Split(strings.TrimSuffix(s, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if r != '-' && (r < '0' || r > '9') && (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
				return false
			}
		}
	}
	return true
}

// hostname is the configured host name, else the machine's, else
// "localhost".
func (c Config) hostname() string {
	if c.Hostname != "" {
		return c.Hostname
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

// engineRetention is Retention as outbox.EngineConfig takes it: there, zero
// means the default and a negative value disables purging.
func (c Config) engineRetention() time.Duration {
	if c.Retention == 0 {
		return -1
	}
	return c.Retention
}
