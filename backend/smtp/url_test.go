package smtp

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/outboxmail/outbox/outboxtest"
)

func TestParseURL(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	sink := outboxtest.NewSink(t, outboxtest.WithStartTLS())
	if err := os.WriteFile(ca, sink.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}

	good := []struct {
		url  string
		want Config // after defaults; RootCAs is only checked for presence
		ca   bool
	}{
		{"smtp://relay.example.com", Config{Host: "relay.example.com", Port: 25, TLS: TLSOpportunistic}, false},
		{"smtps://smtp.example.com", Config{Host: "smtp.example.com", Port: 465, TLS: TLSImplicit}, false},
		{"smtps://smtp.example.com:2465?tls=implicit", Config{Host: "smtp.example.com", Port: 2465, TLS: TLSImplicit}, false},
		{"smtp://u%40x.com:p%40ss%29%20w@relay.example.com:587?tls=starttls&auth=login",
			Config{Host: "relay.example.com", Port: 587, Username: "u@x.com", Password: "p@ss) w", TLS: TLSStartTLS, Auth: AuthLogin}, false},
		{"smtp://127.0.0.1:1025/?tls=none&ehlo=app.example.com&timeout=5s&data_timeout=1m&idle_timeout=10s&max_conns=8",
			Config{Host: "127.0.0.1", Port: 1025, TLS: TLSNone, Hello: "app.example.com", Timeout: 5 * time.Second,
				DataTimeout: time.Minute, IdleTimeout: 10 * time.Second, MaxConns: 8}, false},
		{"smtp://u:p@localhost:1025?tls=none", Config{Host: "localhost", Port: 1025, Username: "u", Password: "p", TLS: TLSNone}, false},
		{"smtp://[::1]:1025?tls=starttls&ca=" + ca + "&insecure_skip_verify=false", Config{Host: "::1", Port: 1025, TLS: TLSStartTLS}, true},
		{"smtp://relay.example.com?insecure_skip_verify=true", Config{Host: "relay.example.com", Port: 25, TLS: TLSOpportunistic, InsecureSkipVerify: true}, false},
	}
	for _, tc := range good {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := parseURL(u)
		if err != nil {
			t.Errorf("%s: %v", tc.url, err)
			continue
		}
		if (cfg.RootCAs != nil) != tc.ca {
			t.Errorf("%s: RootCAs set = %v, want %v", tc.url, cfg.RootCAs != nil, tc.ca)
		}
		cfg.RootCAs = nil
		got := cfg.withDefaults()
		want := tc.want.withDefaults()
		if got != want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.url, got, want)
		}
		if err := got.validate(); err != nil {
			t.Errorf("%s: validate: %v", tc.url, err)
		}
		if _, err := FromURL(u); err != nil {
			t.Errorf("FromURL(%s): %v", tc.url, err)
		}
	}

	bad := []struct{ url, field string }{
		{"http://relay.example.com", "scheme"},
		{"smtp:relay.example.com", "host"},
		{"smtp://:25", "host"},
		{"smtp://relay.example.com:0", "port"},
		{"smtp://relay.example.com:99999", "port"},
		{"smtp://relay.example.com/mail", "path"},
		{"smtp://relay.example.com#x", "fragment"},
		{"smtp://:pw@relay.example.com", "user"},
		{"smtp://relay.example.com?tls=yes", "tls"},
		{"smtp://relay.example.com?tls=implicit", "tls"},
		{"smtps://relay.example.com?tls=starttls", "tls"},
		{"smtp://relay.example.com?auth=cram-md5", "auth"},
		{"smtp://relay.example.com?auth=plain", "auth"}, // no credentials
		{"smtp://relay.example.com?ehlo=", "ehlo"},
		{"smtp://relay.example.com?timeout=soon", "timeout"},
		{"smtp://relay.example.com?timeout=-1s", "timeout"},
		{"smtp://relay.example.com?data_timeout=0s", "data_timeout"},
		{"smtp://relay.example.com?idle_timeout=x", "idle_timeout"},
		{"smtp://relay.example.com?ca=" + filepath.Join(dir, "missing.pem"), "ca"},
		{"smtp://relay.example.com?ca=" + notPEM, "ca"},
		{"smtp://relay.example.com?insecure_skip_verify=maybe", "insecure_skip_verify"},
		{"smtp://relay.example.com?max_conns=0", "max_conns"},
		{"smtp://relay.example.com?max_conns=many", "max_conns"},
		{"smtp://relay.example.com?verify=false", "verify"},
		{"smtp://relay.example.com?tls=none&tls=starttls", "tls"},
		{"smtp://relay.example.com?tls=%zz", "query"},
		{"smtp://relay.example.com?tls=none&insecure_skip_verify=true", "tls"},
		{"smtp://u:p@relay.example.com?tls=none", "tls"}, // credentials in clear text
		{"smtp://u:p@10.0.0.1?tls=none", "tls"},
	}
	for _, tc := range bad {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		_, err = FromURL(u)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Field != tc.field {
			t.Errorf("%s: error %v, want a ConfigError about %q", tc.url, err, tc.field)
		}
	}
}
