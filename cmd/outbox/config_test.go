package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/smtpd"
)

// testHash is a bcrypt hash (of "secret") for configured users.
const testHash = "$2a$10$DsKf0FDNzoH.NssAK3.JD.GNQdloC2/cnG3II./.8bpAMCBgqBPlm"

// envMap is a getenv over a map that records which names were asked for.
type envMap struct {
	vars  map[string]string
	asked []string
}

func (e *envMap) getenv(name string) string {
	e.asked = append(e.asked, name)
	return e.vars[name]
}

// loadServeConfig runs serve's configuration path: flags parsed from args,
// then file, environment and flags layered and validated.
func loadServeConfig(t *testing.T, args []string, vars map[string]string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	em := &envMap{vars: vars}
	load := serveFlags(fs, &env{getenv: em.getenv})
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parse %v: %v", args, err)
	}
	return load()
}

// writeFile writes a config file in a temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaultConfig(t *testing.T) {
	c, err := loadServeConfig(t, nil, nil)
	if err != nil {
		t.Fatalf("the defaults do not validate: %v", err)
	}
	want := Config{
		DataDir:        "./outbox-data",
		HTTPAddr:       "127.0.0.1:8025",
		Backend:        "console:",
		Workers:        32,
		MaxMessageSize: 26214400,
		Retention:      720 * time.Hour,
		LogLevel:       slog.LevelInfo,
		LogFormat:      "text",
		Retry:          outbox.RetryPolicy{MinDelay: 30 * time.Second, MaxDelay: time.Hour, MaxLifetime: 120 * time.Hour},
		Delivery:       DeliveryConfig{Timeout: 2 * time.Minute, Lease: 5 * time.Minute},
		SMTP:           SMTPConfig{Addr: "127.0.0.1:2525", MaxRecipients: 100, MaxConnections: 100},
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("defaults\n%+v\nwant\n%+v", c, want)
	}
	// The retry defaults are the engine's.
	if c.Retry != outbox.DefaultRetryPolicy {
		t.Errorf("retry defaults %+v differ from outbox.DefaultRetryPolicy %+v", c.Retry, outbox.DefaultRetryPolicy)
	}
}

func TestConfigPrecedence(t *testing.T) {
	path := writeFile(t, "outbox.toml", `
data_dir = "/var/lib/outbox"
http_addr = "127.0.0.1:9000"
backend = "smtp://relay.example.com:587"
workers = 4
api_tokens = ["file-token"]
max_message_size = 1048576
retention = "0"
hostname = "mail.example.com"
log_level = "debug"
log_format = "json"
smtp_addr = "0.0.0.0:587"
smtps_addr = "0.0.0.0:465"
smtp_tls_cert = "/etc/outbox/cert.pem"
smtp_tls_key = "/etc/outbox/key.pem"
smtp_trusted_networks = ["10.0.0.0/8", "192.0.2.7", "2001:db8::1/32"]
smtp_require_tls_for_auth = true
smtp_max_recipients = 50
smtp_max_connections = 20

[retry]
min_delay = "10s"
max_delay = "10m"
max_attempts = 12
max_lifetime = "48h"

[[smtp_users]]
name = "helpdesk"
password_hash = "$2a$10$DsKf0FDNzoH.NssAK3.JD.GNQdloC2/cnG3II./.8bpAMCBgqBPlm"
allowed_from = ["help@example.com", "@example.org"]

[[smtp_users]]
name = "cron"
password_hash = "$2a$10$DsKf0FDNzoH.NssAK3.JD.GNQdloC2/cnG3II./.8bpAMCBgqBPlm"

[delivery]
timeout = "30s"
lease = "90s"
`)
	// The file alone.
	c, err := loadServeConfig(t, []string{"--config", path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		DataDir:        "/var/lib/outbox",
		HTTPAddr:       "127.0.0.1:9000",
		Backend:        "smtp://relay.example.com:587",
		Workers:        4,
		APITokens:      []string{"file-token"},
		MaxMessageSize: 1 << 20,
		Retention:      0,
		Hostname:       "mail.example.com",
		LogLevel:       slog.LevelDebug,
		LogFormat:      "json",
		Retry:          outbox.RetryPolicy{MinDelay: 10 * time.Second, MaxDelay: 10 * time.Minute, MaxAttempts: 12, MaxLifetime: 48 * time.Hour},
		Delivery:       DeliveryConfig{Timeout: 30 * time.Second, Lease: 90 * time.Second},
		SMTP: SMTPConfig{
			Addr:    "0.0.0.0:587",
			TLSAddr: "0.0.0.0:465",
			TLSCert: "/etc/outbox/cert.pem",
			TLSKey:  "/etc/outbox/key.pem",
			Users: []smtpd.User{
				{Name: "helpdesk", PasswordHash: testHash, AllowedFrom: []string{"help@example.com", "@example.org"}},
				{Name: "cron", PasswordHash: testHash},
			},
			TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"),
				netip.MustParsePrefix("2001:db8::/32")},
			RequireTLSForAuth: true,
			MaxRecipients:     50,
			MaxConnections:    20,
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("from the file\n%+v\nwant\n%+v", c, want)
	}
	if c.engineRetention() >= 0 {
		t.Errorf("retention 0 must disable purging in the engine, got %s", c.engineRetention())
	}

	// The environment overrides the file; OUTBOX_CONFIG names the file.
	vars := map[string]string{
		"OUTBOX_CONFIG":                    path,
		"OUTBOX_DATA_DIR":                  "/srv/outbox",
		"OUTBOX_HTTP_ADDR":                 "127.0.0.1:9100",
		"OUTBOX_BACKEND":                   "file:///var/spool/outbox",
		"OUTBOX_WORKERS":                   "16",
		"OUTBOX_API_TOKENS":                " env-a , env-b ,",
		"OUTBOX_RETENTION":                 "24h",
		"OUTBOX_RETRY_MIN_DELAY":           "1s",
		"OUTBOX_RETRY_MAX_DELAY":           "2m",
		"OUTBOX_RETRY_MAX_ATTEMPTS":        "3",
		"OUTBOX_RETRY_MAX_LIFETIME":        "1h",
		"OUTBOX_DELIVERY_TIMEOUT":          "45s",
		"OUTBOX_MAX_MESSAGE_SIZE":          "2048",
		"OUTBOX_LOG_LEVEL":                 "warn",
		"OUTBOX_LOG_FORMAT":                "text",
		"OUTBOX_HOSTNAME":                  "mx.example.org",
		"OUTBOX_SMTP_ADDR":                 "off",
		"OUTBOX_SMTPS_ADDR":                "127.0.0.1:1465",
		"OUTBOX_SMTP_TLS_CERT":             "/run/cert.pem",
		"OUTBOX_SMTP_TLS_KEY":              "/run/key.pem",
		"OUTBOX_SMTP_TRUSTED_NETWORKS":     " 172.16.0.0/12 , ::1 ,",
		"OUTBOX_SMTP_REQUIRE_TLS_FOR_AUTH": "false",
		"OUTBOX_SMTP_MAX_RECIPIENTS":       "7",
		"OUTBOX_SMTP_MAX_CONNECTIONS":      "9",
	}
	c, err = loadServeConfig(t, nil, vars)
	if err != nil {
		t.Fatal(err)
	}
	want = Config{
		DataDir:        "/srv/outbox",
		HTTPAddr:       "127.0.0.1:9100",
		Backend:        "file:///var/spool/outbox",
		Workers:        16,
		APITokens:      []string{"env-a", "env-b"},
		MaxMessageSize: 2048,
		Retention:      24 * time.Hour,
		Hostname:       "mx.example.org",
		LogLevel:       slog.LevelWarn,
		LogFormat:      "text",
		Retry:          outbox.RetryPolicy{MinDelay: time.Second, MaxDelay: 2 * time.Minute, MaxAttempts: 3, MaxLifetime: time.Hour},
		Delivery:       DeliveryConfig{Timeout: 45 * time.Second, Lease: 90 * time.Second}, // lease: file only
		SMTP: SMTPConfig{
			TLSAddr:         "127.0.0.1:1465",
			TLSCert:         "/run/cert.pem",
			TLSKey:          "/run/key.pem",
			Users:           want.SMTP.Users, // file only
			TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("172.16.0.0/12"), netip.MustParsePrefix("::1/128")},
			MaxRecipients:   7,
			MaxConnections:  9,
		},
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("file + environment\n%+v\nwant\n%+v", c, want)
	}

	// Flags override both; --config overrides OUTBOX_CONFIG.
	other := writeFile(t, "other.toml", "workers = 2\n")
	c, err = loadServeConfig(t, []string{"--config", other, "--data-dir", "./d", "--http-addr", "localhost:0",
		"--backend", "null:", "--workers", "32", "--smtp-addr", "127.0.0.1:0", "--smtps-addr", "OFF"}, vars)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != "./d" || c.HTTPAddr != "localhost:0" || c.Backend != "null:" || c.Workers != 32 ||
		c.SMTP.Addr != "127.0.0.1:0" || c.SMTP.TLSAddr != "" {
		t.Errorf("flags did not win: %+v", c)
	}
	if c.Hostname != "mx.example.org" || c.Retry.MinDelay != time.Second {
		t.Errorf("the environment was lost under flags: %+v", c)
	}
	c, err = loadServeConfig(t, []string{"--config", other}, map[string]string{"OUTBOX_CONFIG": path})
	if err != nil || c.Workers != 2 || c.DataDir != "./outbox-data" {
		t.Errorf("--config must replace OUTBOX_CONFIG: %+v %v", c, err)
	}
}

func TestConfigReadsOnlyDocumentedEnv(t *testing.T) {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	em := &envMap{vars: map[string]string{
		"OUTBOX_TEST_POSTGRES_URL": "postgres://nowhere/x",
		"OUTBOX_WORKER":            "not a number", // a typo of OUTBOX_WORKERS: ignored
		"HOME":                     "/nonexistent",
		"OUTBOX_DELIVERY_LEASE":    "not a duration",
	}}
	load := serveFlags(fs, &env{getenv: em.getenv})
	if err := fs.Parse(nil); err != nil {
		t.Fatal(err)
	}
	c, err := load()
	if err != nil {
		t.Fatalf("unrelated variables broke the config: %v", err)
	}
	if !reflect.DeepEqual(c, defaultConfig()) {
		t.Errorf("config changed by unrelated variables: %+v", c)
	}
	want := []string{"OUTBOX_CONFIG"}
	for _, v := range envVars() {
		want = append(want, v.Name)
	}
	got := slices.Clone(em.asked)
	slices.Sort(got)
	got = slices.Compact(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("variables read:\n%v\nwant exactly the documented\n%v", got, want)
	}
	documented := []string{"OUTBOX_CONFIG", "OUTBOX_DATA_DIR", "OUTBOX_HTTP_ADDR", "OUTBOX_BACKEND", "OUTBOX_WORKERS",
		"OUTBOX_API_TOKENS", "OUTBOX_RETENTION", "OUTBOX_RETRY_MIN_DELAY", "OUTBOX_RETRY_MAX_DELAY",
		"OUTBOX_RETRY_MAX_ATTEMPTS", "OUTBOX_RETRY_MAX_LIFETIME", "OUTBOX_DELIVERY_TIMEOUT",
		"OUTBOX_MAX_MESSAGE_SIZE", "OUTBOX_LOG_LEVEL", "OUTBOX_LOG_FORMAT", "OUTBOX_HOSTNAME",
		"OUTBOX_SMTP_ADDR", "OUTBOX_SMTPS_ADDR", "OUTBOX_SMTP_TLS_CERT", "OUTBOX_SMTP_TLS_KEY",
		"OUTBOX_SMTP_TRUSTED_NETWORKS", "OUTBOX_SMTP_REQUIRE_TLS_FOR_AUTH", "OUTBOX_SMTP_MAX_RECIPIENTS",
		"OUTBOX_SMTP_MAX_CONNECTIONS", "OUTBOX_PROFILE"}
	slices.Sort(documented)
	if !slices.Equal(want, documented) {
		t.Errorf("envVars lists\n%v\nthe brief documents\n%v", want, documented)
	}
}

func TestConfigFileErrors(t *testing.T) {
	tests := []struct {
		name, content string
		want          []string
	}{
		{"unknown key", "[retry]\nmin_dealy = \"5s\"\n", []string{`unknown config key "retry.min_dealy"`, "outbox.toml"}},
		{"unknown top-level keys", "workrs = 3\ndata = 1\n", []string{`"workrs"`, `"data"`, "unknown config keys"}},
		{"unknown table", "[smtp]\nport = 25\n", []string{`unknown config key "smtp`}},
		{"malformed duration", "[retry]\nmax_delay = \"1 hour\"\n", []string{"retry.max_delay", `"1 hour"`}},
		{"duration without unit", "[delivery]\ntimeout = \"30\"\n", []string{"delivery.timeout", `"30"`}},
		{"number for a duration", "retention = 30\n", []string{"retention"}},
		{"string for a number", "workers = \"8\"\n", []string{"workers"}},
		{"bad log level", "log_level = \"loud\"\n", []string{"log_level", "loud"}},
		{"TOML syntax", "workers = = 3\n", []string{"outbox.toml", "line 1"}},
		{"bad network", "smtp_trusted_networks = [\"10.0.0.0/33\"]\n", []string{"smtp_trusted_networks", "10.0.0.0/33"}},
		{"unknown user key", "[[smtp_users]]\nname = \"a\"\npasword_hash = \"x\"\n", []string{`unknown config key "smtp_users.pasword_hash"`}},
		{"string for a bool", "smtp_require_tls_for_auth = \"yes\"\n", []string{"smtp_require_tls_for_auth"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeFile(t, "outbox.toml", tt.content)
			_, err := loadServeConfig(t, []string{"--config", path}, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
	_, err := loadServeConfig(t, []string{"--config", filepath.Join(t.TempDir(), "missing.toml")}, nil)
	if err == nil || !strings.Contains(err.Error(), "missing.toml") {
		t.Errorf("missing file: %v", err)
	}
}

func TestConfigEnvErrors(t *testing.T) {
	for name, value := range map[string]string{
		"OUTBOX_WORKERS":                   "eight",
		"OUTBOX_RETRY_MIN_DELAY":           "soon",
		"OUTBOX_MAX_MESSAGE_SIZE":          "25MiB",
		"OUTBOX_LOG_LEVEL":                 "chatty",
		"OUTBOX_SMTP_TRUSTED_NETWORKS":     "lan",
		"OUTBOX_SMTP_REQUIRE_TLS_FOR_AUTH": "maybe",
		"OUTBOX_SMTP_MAX_RECIPIENTS":       "lots",
	} {
		_, err := loadServeConfig(t, nil, map[string]string{name: value})
		if err == nil || !strings.Contains(err.Error(), name) || !strings.Contains(err.Error(), value) {
			t.Errorf("%s=%s: error %v does not name the variable and value", name, value, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string // "" = valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"localhost", func(c *Config) { c.HTTPAddr = "localhost:8025" }, ""},
		{"IPv6 loopback", func(c *Config) { c.HTTPAddr = "[::1]:8025" }, ""},
		{"other loopback", func(c *Config) { c.HTTPAddr = "127.0.0.2:8025" }, ""},
		{"any port", func(c *Config) { c.HTTPAddr = "127.0.0.1:0" }, ""},
		{"all interfaces", func(c *Config) { c.HTTPAddr = "0.0.0.0:8025" }, "http_addr: listening on 0.0.0.0:8025 (not loopback) requires api_tokens"},
		{"empty host", func(c *Config) { c.HTTPAddr = ":8025" }, "requires api_tokens"},
		{"IPv6 any", func(c *Config) { c.HTTPAddr = "[::]:8025" }, "requires api_tokens"},
		{"public IP", func(c *Config) { c.HTTPAddr = "192.0.2.10:8025" }, "OUTBOX_API_TOKENS"},
		{"host name", func(c *Config) { c.HTTPAddr = "mail.example.com:8025" }, "requires api_tokens"},
		{"public with tokens", func(c *Config) { c.HTTPAddr = "0.0.0.0:8025"; c.APITokens = []string{"s3cret"} }, ""},
		{"no port", func(c *Config) { c.HTTPAddr = "127.0.0.1" }, "http_addr"},
		{"bad port", func(c *Config) { c.HTTPAddr = "127.0.0.1:http" }, "http_addr: invalid port"},
		{"empty token", func(c *Config) { c.APITokens = []string{"a", ""} }, "api_tokens[1]"},
		{"empty data dir", func(c *Config) { c.DataDir = "" }, "data_dir"},
		{"empty backend", func(c *Config) { c.Backend = " " }, "backend"},
		{"no workers", func(c *Config) { c.Workers = 0 }, "workers"},
		{"tiny messages", func(c *Config) { c.MaxMessageSize = 10 }, "max_message_size"},
		{"negative retention", func(c *Config) { c.Retention = -time.Hour }, "retention"},
		{"bad hostname", func(c *Config) { c.Hostname = "mail example" }, "hostname"},
		{"bad log format", func(c *Config) { c.LogFormat = "yaml" }, "log_format"},
		{"min over max delay", func(c *Config) { c.Retry.MinDelay = 2 * time.Hour }, "retry.min_delay: must be ≤ retry.max_delay"},
		{"zero min delay", func(c *Config) { c.Retry.MinDelay = 0 }, "retry.min_delay"},
		{"negative attempts", func(c *Config) { c.Retry.MaxAttempts = -1 }, "retry.max_attempts"},
		{"zero lifetime", func(c *Config) { c.Retry.MaxLifetime = 0 }, "retry.max_lifetime"},
		{"zero timeout", func(c *Config) { c.Delivery.Timeout = 0 }, "delivery.timeout"},
		{"lease under timeout", func(c *Config) { c.Delivery.Lease = time.Minute }, "delivery.lease: must exceed delivery.timeout"},
		{"smtp off", func(c *Config) { c.SMTP.Addr = "" }, ""},
		{"smtp public", func(c *Config) { c.SMTP.Addr = "0.0.0.0:25" },
			"smtp_addr 0.0.0.0:25 is not loopback: configure smtp_users or smtp_trusted_networks"},
		{"smtp every interface", func(c *Config) { c.SMTP.Addr = ":587" }, "OUTBOX_SMTP_TRUSTED_NETWORKS"},
		{"smtps public", func(c *Config) { c.SMTP.TLSAddr = "[::]:465" },
			"smtps_addr [::]:465 is not loopback: configure smtp_users or smtp_trusted_networks"},
		{"smtp public, trusted networks", func(c *Config) {
			c.SMTP.Addr, c.SMTP.TLSAddr = "0.0.0.0:25", "0.0.0.0:465"
			c.SMTP.TrustedNetworks = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		}, ""},
		{"smtp public, trust no one", func(c *Config) { c.SMTP.Addr, c.SMTP.TrustedNetworks = "0.0.0.0:25", []netip.Prefix{} }, ""},
		{"smtp public, users", func(c *Config) {
			c.SMTP.Addr = "0.0.0.0:587"
			c.SMTP.Users = []smtpd.User{{Name: "app", PasswordHash: testHash}}
		}, ""},
		{"smtp localhost", func(c *Config) { c.SMTP.Addr = "localhost:2525" }, ""},
		{"smtp no port", func(c *Config) { c.SMTP.Addr = "127.0.0.1" }, "smtp_addr"},
		{"smtps bad port", func(c *Config) { c.SMTP.TLSAddr = "127.0.0.1:smtps" }, "smtps_addr: invalid port"},
		{"same port twice", func(c *Config) { c.SMTP.TLSAddr = c.SMTP.Addr }, "smtps_addr: 127.0.0.1:2525 is also smtp_addr"},
		{"cert without key", func(c *Config) { c.SMTP.TLSCert = "cert.pem" }, "smtp_tls_cert and smtp_tls_key go together"},
		{"key without cert", func(c *Config) { c.SMTP.TLSKey = "key.pem" }, "smtp_tls_cert and smtp_tls_key go together"},
		{"user without name", func(c *Config) { c.SMTP.Users = []smtpd.User{{PasswordHash: testHash}} }, "smtp_users[0].name: must not be empty"},
		{"plain-text password", func(c *Config) { c.SMTP.Users = []smtpd.User{{Name: "app", PasswordHash: "secret"}} },
			"smtp_users[0].password_hash: user \"app\": not a bcrypt hash (make one with `outbox passwd`)"},
		{"user twice", func(c *Config) {
			c.SMTP.Users = []smtpd.User{{Name: "app", PasswordHash: testHash}, {Name: "app", PasswordHash: testHash}}
		}, "smtp_users[1].name: user \"app\" is listed twice"},
		{"bad allowed_from", func(c *Config) {
			c.SMTP.Users = []smtpd.User{{Name: "app", PasswordHash: testHash, AllowedFrom: []string{"ok@example.com", "a, b"}}}
		}, "smtp_users[0].allowed_from[1]"},
		{"no recipients", func(c *Config) { c.SMTP.MaxRecipients = 0 }, "smtp_max_recipients"},
		{"no connections", func(c *Config) { c.SMTP.MaxConnections = -1 }, "smtp_max_connections"},
		{"5 GiB over SMTP", func(c *Config) { c.MaxMessageSize = 5 << 30 }, "max_message_size: must be at most 4294967295 bytes"},
		{"5 GiB without SMTP", func(c *Config) { c.MaxMessageSize, c.SMTP.Addr = 5<<30, "" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := defaultConfig()
			tt.edit(&c)
			err := c.validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestServeRefusesPublicAddressWithoutTokens(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"serve", "--http-addr", "0.0.0.0:8025"}, nil, &stdout, &stderr,
		(&envMap{}).getenv)
	if code != exitError {
		t.Fatalf("exit %d, want %d; stderr %s", code, exitError, stderr.String())
	}
	for _, w := range []string{"outbox serve:", "0.0.0.0:8025", "api_tokens", "OUTBOX_API_TOKENS"} {
		if !strings.Contains(stderr.String(), w) {
			t.Errorf("stderr %q does not contain %q", stderr.String(), w)
		}
	}
	code = run(context.Background(), []string{"serve", "--workers", "many"}, nil, &stdout, &stderr, (&envMap{}).getenv)
	if code != exitUsage {
		t.Errorf("bad flag value: exit %d, want %d", code, exitUsage)
	}
}

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	c := defaultConfig()
	c.LogFormat, c.LogLevel = "json", slog.LevelWarn
	log := newLogger(c, &buf)
	log.Info("hidden")
	log.Warn("shown", "k", "v")
	if got := buf.String(); strings.Contains(got, "hidden") || !strings.Contains(got, `"msg":"shown"`) || !strings.Contains(got, `"k":"v"`) {
		t.Errorf("json logger wrote %q", got)
	}
	buf.Reset()
	c.LogFormat, c.LogLevel = "text", slog.LevelDebug
	newLogger(c, &buf).Debug("detail")
	if !strings.Contains(buf.String(), "level=DEBUG msg=detail") {
		t.Errorf("text logger wrote %q", buf.String())
	}
}

// TestAPITokensEnvWithoutTokens: a non-empty OUTBOX_API_TOKENS that
// holds no token is refused, not taken as "no tokens": that would switch
// authentication off under the file's tokens.
func TestAPITokensEnvWithoutTokens(t *testing.T) {
	path := writeFile(t, "outbox.toml", "api_tokens = [\"s3cret\"]\n")
	for _, v := range []string{",", " , "} {
		_, err := loadServeConfig(t, nil, map[string]string{"OUTBOX_CONFIG": path, "OUTBOX_API_TOKENS": v})
		if err == nil || !strings.Contains(err.Error(), "OUTBOX_API_TOKENS") || !strings.Contains(err.Error(), "no token") {
			t.Errorf("OUTBOX_API_TOKENS=%q: %v, want an error naming it", v, err)
		}
	}
	c, err := loadServeConfig(t, nil, map[string]string{"OUTBOX_CONFIG": path, "OUTBOX_API_TOKENS": ""})
	if err != nil || !slices.Equal(c.APITokens, []string{"s3cret"}) {
		t.Errorf("empty OUTBOX_API_TOKENS: %v %v, want the file's token", c.APITokens, err)
	}
}
