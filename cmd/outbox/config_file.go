package main

import (
	"errors"
	"fmt"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/outboxmail/outbox/smtpd"
)

// fileConfig is the TOML file's shape. Every field is a pointer so that
// only the keys present in the file override the layer below.
type fileConfig struct {
	DataDir        *string   `toml:"data_dir"`
	HTTPAddr       *string   `toml:"http_addr"`
	Workers        *int      `toml:"workers"`
	APITokens      *[]string `toml:"api_tokens"`
	MaxMessageSize *int64    `toml:"max_message_size"`
	Retention      *string   `toml:"retention"`
	Hostname       *string   `toml:"hostname"`
	LogLevel       *string   `toml:"log_level"`
	LogFormat      *string   `toml:"log_format"`
	Retry          struct {
		MinDelay    *string `toml:"min_delay"`
		MaxDelay    *string `toml:"max_delay"`
		MaxAttempts *int    `toml:"max_attempts"`
		MaxLifetime *string `toml:"max_lifetime"`
	} `toml:"retry"`
	Delivery struct {
		Timeout *string `toml:"timeout"`
		Lease   *string `toml:"lease"`
	} `toml:"delivery"`

	SMTPAddr            *string     `toml:"smtp_addr"`
	SMTPSAddr           *string     `toml:"smtps_addr"`
	SMTPTLSCert         *string     `toml:"smtp_tls_cert"`
	SMTPTLSKey          *string     `toml:"smtp_tls_key"`
	SMTPUsers           *[]fileUser `toml:"smtp_users"`
	SMTPTrustedNetworks *[]string   `toml:"smtp_trusted_networks"`
	SMTPRequireTLSAuth  *bool       `toml:"smtp_require_tls_for_auth"`
	SMTPMaxRecipients   *int        `toml:"smtp_max_recipients"`
	SMTPMaxConnections  *int        `toml:"smtp_max_connections"`

	// fileBackends holds backend, [backends], [[routes]] and [limits].
	fileBackends
	Profiles fileProfiles `toml:"profiles"`
}

// fileUser is one [[smtp_users]] table.
type fileUser struct {
	Name         string   `toml:"name"`
	PasswordHash string   `toml:"password_hash"`
	AllowedFrom  []string `toml:"allowed_from"`
}

// loadFile applies the TOML file at path onto c, then the section of the
// profile called profile, if any. Unknown keys are errors naming the key
// and the file, so that a typo is never silently ignored.
func loadFile(path, profile string, c *Config) error {
	var f fileConfig
	md, err := toml.DecodeFile(path, &f)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("config file %s does not exist", path)
		}
		return fmt.Errorf("config file %s: %w", path, err)
	}
	if names := unknownKeys(md.Undecoded()); len(names) > 0 {
		if len(names) == 1 {
			return fmt.Errorf("unknown config key %s in %s", names[0], path)
		}
		return fmt.Errorf("unknown config keys %s in %s", strings.Join(names, ", "), path)
	}
	set(&c.DataDir, f.DataDir)
	set(&c.HTTPAddr, f.HTTPAddr)
	set(&c.Workers, f.Workers)
	set(&c.APITokens, f.APITokens)
	set(&c.MaxMessageSize, f.MaxMessageSize)
	set(&c.Hostname, f.Hostname)
	set(&c.LogFormat, f.LogFormat)
	set(&c.Retry.MaxAttempts, f.Retry.MaxAttempts)
	keys := refKeys{routes: "routes", limits: make(map[string]string)}
	if err := errors.Join(applyBackends("", f.fileBackends, c, &keys), applyProfile(profile, f.Profiles, c, &keys)); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := c.checkBackendRefs(keys); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := applyFileSMTP(f, &c.SMTP); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if f.LogLevel != nil {
		if err := c.LogLevel.UnmarshalText([]byte(*f.LogLevel)); err != nil {
			return fmt.Errorf("%s: log_level: %q is not debug, info, warn or error", path, *f.LogLevel)
		}
	}
	durations := []struct {
		key string
		dst *time.Duration
		src *string
	}{
		{"retention", &c.Retention, f.Retention},
		{"retry.min_delay", &c.Retry.MinDelay, f.Retry.MinDelay},
		{"retry.max_delay", &c.Retry.MaxDelay, f.Retry.MaxDelay},
		{"retry.max_lifetime", &c.Retry.MaxLifetime, f.Retry.MaxLifetime},
		{"delivery.timeout", &c.Delivery.Timeout, f.Delivery.Timeout},
		{"delivery.lease", &c.Delivery.Lease, f.Delivery.Lease},
	}
	for _, d := range durations {
		if d.src == nil {
			continue
		}
		v, err := parseDuration(*d.src)
		if err != nil {
			return fmt.Errorf("%s: %s: %w", path, d.key, err)
		}
		*d.dst = v
	}
	return nil
}

// applyFileSMTP applies the file's smtp_* keys onto s.
func applyFileSMTP(f fileConfig, s *SMTPConfig) error {
	if f.SMTPAddr != nil {
		s.Addr = listenAddr(*f.SMTPAddr)
	}
	if f.SMTPSAddr != nil {
		s.TLSAddr = listenAddr(*f.SMTPSAddr)
	}
	set(&s.TLSCert, f.SMTPTLSCert)
	set(&s.TLSKey, f.SMTPTLSKey)
	set(&s.RequireTLSForAuth, f.SMTPRequireTLSAuth)
	set(&s.MaxRecipients, f.SMTPMaxRecipients)
	set(&s.MaxConnections, f.SMTPMaxConnections)
	if f.SMTPTrustedNetworks != nil {
		nets, err := parseNetworks(*f.SMTPTrustedNetworks)
		if err != nil {
			return fmt.Errorf("smtp_trusted_networks: %w", err)
		}
		s.TrustedNetworks = nets
	}
	if f.SMTPUsers != nil {
		s.Users = make([]smtpd.User, len(*f.SMTPUsers))
		for i, u := range *f.SMTPUsers {
			s.Users[i] = smtpd.User{Name: u.Name, PasswordHash: u.PasswordHash, AllowedFrom: u.AllowedFrom}
		}
	}
	return nil
}

// unknownKeys quotes the undecoded keys, leaving out those under an
// unknown table (the table is named instead).
func unknownKeys(keys []toml.Key) []string {
	unknown := make(map[string]bool, len(keys))
	for _, k := range keys {
		unknown[k.String()] = true
	}
	var names []string
	for _, k := range keys {
		parent := false
		for i := 1; i < len(k); i++ {
			parent = parent || unknown[k[:i].String()]
		}
		if !parent {
			names = append(names, strconv.Quote(k.String()))
		}
	}
	return names
}

// set copies *src into *dst when the file gave a value.
func set[T any](dst *T, src *T) {
	if src != nil {
		*dst = *src
	}
}

// parseDuration parses a Go duration string ("30s", "1h30m", "0").
func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("invalid duration %q: want a number with a unit, e.g. \"30s\", \"5m\" or \"120h\"", s)
	}
	return d, nil
}
