package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// envVar is an environment variable that overrides a config key.
type envVar struct {
	// Name is the variable, e.g. OUTBOX_WORKERS.
	Name string
	// Key is the config key it overrides, e.g. workers.
	Key string
	// apply parses the value into c.
	apply func(c *Config, v string) error
}

// envVars is the fixed list of environment variables read by serve, after
// the config file and before the flags. No other variable is read:
// OUTBOX_TEST_POSTGRES_URL and the like are ignored. An empty value counts
// as unset: to turn a setting off, say so ("off" for the SMTP addresses,
// "none" for the trusted networks). (OUTBOX_CONFIG, the config file's
// path, is read by serve itself; OUTBOX_URL and OUTBOX_TOKEN are for the
// client commands.) smtp_users can only be set in the config file.
func envVars() []envVar {
	str := func(dst func(*Config) *string) func(*Config, string) error {
		return func(c *Config, v string) error { *dst(c) = v; return nil }
	}
	dur := func(dst func(*Config) *time.Duration) func(*Config, string) error {
		return func(c *Config, v string) error {
			d, err := parseDuration(v)
			if err != nil {
				return err
			}
			*dst(c) = d
			return nil
		}
	}
	num := func(dst func(*Config) *int) func(*Config, string) error {
		return func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("invalid integer %q", v)
			}
			*dst(c) = n
			return nil
		}
	}
	return []envVar{
		{"OUTBOX_DATA_DIR", "data_dir", str(func(c *Config) *string { return &c.DataDir })},
		{"OUTBOX_HTTP_ADDR", "http_addr", str(func(c *Config) *string { return &c.HTTPAddr })},
		{"OUTBOX_BACKEND", "backend", func(c *Config, v string) error {
			c.setBackend(v)
			return nil
		}},
		{"OUTBOX_PROFILE", "profile", str(func(c *Config) *string { return &c.Profile })},
		{"OUTBOX_WORKERS", "workers", num(func(c *Config) *int { return &c.Workers })},
		{"OUTBOX_API_TOKENS", "api_tokens", func(c *Config, v string) error {
			tokens := splitList(v)
			if len(tokens) == 0 {
				// Taken as none, it would switch authentication off.
				return fmt.Errorf("no token in %q: give comma-separated tokens, or leave the variable empty to keep the file's", v)
			}
			c.APITokens = tokens
			return nil
		}},
		{"OUTBOX_RETENTION", "retention", dur(func(c *Config) *time.Duration { return &c.Retention })},
		{"OUTBOX_RETRY_MIN_DELAY", "retry.min_delay", dur(func(c *Config) *time.Duration { return &c.Retry.MinDelay })},
		{"OUTBOX_RETRY_MAX_DELAY", "retry.max_delay", dur(func(c *Config) *time.Duration { return &c.Retry.MaxDelay })},
		{"OUTBOX_RETRY_MAX_ATTEMPTS", "retry.max_attempts", num(func(c *Config) *int { return &c.Retry.MaxAttempts })},
		{"OUTBOX_RETRY_MAX_LIFETIME", "retry.max_lifetime", dur(func(c *Config) *time.Duration { return &c.Retry.MaxLifetime })},
		{"OUTBOX_DELIVERY_TIMEOUT", "delivery.timeout", dur(func(c *Config) *time.Duration { return &c.Delivery.Timeout })},
		{"OUTBOX_MAX_MESSAGE_SIZE", "max_message_size", func(c *Config, v string) error {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			if err != nil {
				return fmt.Errorf("invalid integer %q (bytes)", v)
			}
			c.MaxMessageSize = n
			return nil
		}},
		{"OUTBOX_LOG_LEVEL", "log_level", func(c *Config, v string) error {
			if err := c.LogLevel.UnmarshalText([]byte(v)); err != nil {
				return fmt.Errorf("%q is not debug, info, warn or error", v)
			}
			return nil
		}},
		{"OUTBOX_LOG_FORMAT", "log_format", str(func(c *Config) *string { return &c.LogFormat })},
		{"OUTBOX_HOSTNAME", "hostname", str(func(c *Config) *string { return &c.Hostname })},
		{"OUTBOX_SMTP_ADDR", "smtp_addr", func(c *Config, v string) error {
			c.SMTP.Addr = listenAddr(v)
			return nil
		}},
		{"OUTBOX_SMTPS_ADDR", "smtps_addr", func(c *Config, v string) error {
			c.SMTP.TLSAddr = listenAddr(v)
			return nil
		}},
		{"OUTBOX_SMTP_TLS_CERT", "smtp_tls_cert", str(func(c *Config) *string { return &c.SMTP.TLSCert })},
		{"OUTBOX_SMTP_TLS_KEY", "smtp_tls_key", str(func(c *Config) *string { return &c.SMTP.TLSKey })},
		{"OUTBOX_SMTP_TRUSTED_NETWORKS", "smtp_trusted_networks", func(c *Config, v string) error {
			list := splitList(v)
			if len(list) == 1 && strings.EqualFold(list[0], "none") {
				list = nil
			}
			nets, err := parseNetworks(list)
			if err != nil {
				return err
			}
			c.SMTP.TrustedNetworks = nets
			return nil
		}},
		{"OUTBOX_SMTP_REQUIRE_TLS_FOR_AUTH", "smtp_require_tls_for_auth", func(c *Config, v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("invalid boolean %q: want true or false", v)
			}
			c.SMTP.RequireTLSForAuth = b
			return nil
		}},
		{"OUTBOX_SMTP_MAX_RECIPIENTS", "smtp_max_recipients", num(func(c *Config) *int { return &c.SMTP.MaxRecipients })},
		{"OUTBOX_SMTP_MAX_CONNECTIONS", "smtp_max_connections", num(func(c *Config) *int { return &c.SMTP.MaxConnections })},
	}
}

// applyEnv applies the variables of envVars that are set. Errors name the
// variable.
func applyEnv(c *Config, getenv func(string) string) error {
	for _, e := range envVars() {
		v := getenv(e.Name)
		if v == "" {
			continue
		}
		if err := e.apply(c, v); err != nil {
			return fmt.Errorf("%s (%s): %w", e.Name, e.Key, err)
		}
	}
	return nil
}

// splitList splits a comma-separated list, dropping blanks.
func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// loadConfig builds the configuration from the defaults, the file at path
// (none when empty) with the section of the active profile (profile, else
// OUTBOX_PROFILE), and the environment. The caller applies flags, then
// validate.
func loadConfig(path, profile string, getenv func(string) string) (Config, error) {
	c := defaultConfig()
	if profile == "" {
		profile = getenv("OUTBOX_PROFILE")
	}
	if path != "" {
		if err := loadFile(path, profile, &c); err != nil {
			return Config{}, err
		}
	}
	if err := applyEnv(&c, getenv); err != nil {
		return Config{}, err
	}
	c.Profile = profile
	return c, nil
}
