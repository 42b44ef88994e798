package backend

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/outboxmail/outbox"
)

// recorder is an opener that remembers the URL it was given.
type recorder struct{ got *url.URL }

func (r *recorder) open(u *url.URL) (outbox.Backend, error) {
	r.got = u
	return outbox.BackendFunc(func(context.Context, *outbox.Envelope) ([]outbox.RecipientResult, error) {
		return nil, nil
	}), nil
}

func TestOpen(t *testing.T) {
	tests := []struct {
		raw     string
		scheme  string // the opener that must run; "" for an error
		opaque  string
		host    string
		path    string
		query   string
		wantErr []string // parts of the error
	}{
		{raw: "console:", scheme: "console"},
		{raw: "  console:  ", scheme: "console"},
		{raw: "CONSOLE:", scheme: "console"},
		{raw: "console:?raw=true", scheme: "console", query: "raw=true"},
		{raw: "null:", scheme: "null"},
		{raw: "memory:", scheme: "memory"},
		{raw: "file:///var/spool/outbox", scheme: "file", path: "/var/spool/outbox"},
		{raw: "file:relative/dir", scheme: "file", opaque: "relative/dir"},
		{raw: "file:///srv/with%20space", scheme: "file", path: "/srv/with space"},
		{raw: "smtp://user:p%40ss@relay.example.com:587?tls=starttls", scheme: "smtp", host: "relay.example.com:587", query: "tls=starttls"},

		{raw: "", wantErr: []string{"empty backend URL"}},
		{raw: "   ", wantErr: []string{"empty backend URL"}},
		{raw: "console", wantErr: []string{"no scheme", `"console:"`}},
		{raw: "/var/spool/outbox", wantErr: []string{"no scheme", `"file:///var/spool/outbox"`}},
		{raw: "file:///a b", wantErr: []string{"blank", "%20"}},
		{raw: "file:///srv/%zz", wantErr: []string{"does not parse", "%zz"}},
		{raw: "smtp://u:secret@[::1", wantErr: []string{"does not parse", "u:xxxxx@"}},
		{raw: "fanout(console: null:)", wantErr: []string{"blank"}},
		{raw: "sendgrid://key@api", wantErr: []string{`unknown scheme "sendgrid"`, "known: console, file, memory, null, smtp"}},
		{raw: "mailto:a@example.com", wantErr: []string{`unknown scheme "mailto"`}},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			rec := &recorder{}
			schemes := Schemes{}
			for _, s := range []string{"console", "file", "memory", "null", "smtp"} {
				schemes[s] = func(u *url.URL) (outbox.Backend, error) {
					if u.Scheme != s {
						t.Errorf("opener %s got scheme %s", s, u.Scheme)
					}
					return rec.open(u)
				}
			}
			b, err := Open(tt.raw, schemes)
			if tt.scheme == "" {
				if err == nil {
					t.Fatalf("Open(%q) succeeded, want an error", tt.raw)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not mention %q", err, want)
					}
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error %q shows the password", err)
				}
				if b != nil {
					t.Errorf("Open returned a backend with its error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", tt.raw, err)
			}
			u := rec.got
			if u == nil || u.Scheme != tt.scheme || u.Opaque != tt.opaque || u.Host != tt.host || u.Path != tt.path || u.RawQuery != tt.query {
				t.Errorf("opener got %#v", u)
			}
		})
	}
}

func TestOpenOpenerError(t *testing.T) {
	cause := errors.New("unknown parameter \"colour\"")
	schemes := Schemes{
		"smtp": func(*url.URL) (outbox.Backend, error) { return nil, cause },
		"nil":  func(*url.URL) (outbox.Backend, error) { return nil, nil },
	}
	_, err := Open("smtp://user:secret@host?colour=red", schemes)
	if !errors.Is(err, cause) {
		t.Fatalf("error %v does not wrap the opener's", err)
	}
	if strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "smtp://user:xxxxx@host") {
		t.Errorf("error %q: want the URL with its password hidden", err)
	}
	if _, err := Open("nil:", schemes); err == nil || !strings.Contains(err.Error(), "no backend") {
		t.Errorf("an opener returning nil, nil: %v", err)
	}
	if _, err := Open("x:", nil); err == nil || !strings.Contains(err.Error(), "known: none") {
		t.Errorf("no schemes: %v", err)
	}
}

func TestSchemesNames(t *testing.T) {
	s := Schemes{"null": nil, "console": nil, "file": nil}
	if got := strings.Join(s.Names(), ","); got != "console,file,null" {
		t.Errorf("Names() = %s", got)
	}
}

func TestRedact(t *testing.T) {
	for raw, want := range map[string]string{
		"smtp://u:pw@host":          "smtp://u:xxxxx@host",
		"smtp://u:p@w@host/x?y=@":   "smtp://u:xxxxx@host/x?y=@",
		"smtp://u@host":             "smtp://u@host",
		"smtp://host:25":            "smtp://host:25",
		"console:":                  "console:",
		"smtps://a:b:c@h:465?x=1#f": "smtps://a:xxxxx@h:465?x=1#f",
	} {
		if got := redact(raw); got != want {
			t.Errorf("redact(%q) = %q, want %q", raw, got, want)
		}
	}
}

// TestParseURLHidesMalformedPassword: a password with an unencoded "/"
// never shows in the error, not even the piece the parser quotes.
func TestParseURLHidesMalformedPassword(t *testing.T) {
	for _, raw := range []string{"smtp://user:pa/ss@host:25", "smtp://user:se/cr?et@host", "smtp://user:p%zzw@host"} {
		_, err := ParseURL(raw)
		if err == nil {
			if _, err = Open(raw, Schemes{}); err == nil {
				continue
			}
		}
		for _, secret := range []string{"pa/ss", "pa", "se/cr", "cr?et", "p%zzw"} {
			if strings.Contains(err.Error(), ":"+secret) || strings.Contains(err.Error(), secret+"@") {
				t.Errorf("%s: error %q shows the password", raw, err)
			}
		}
	}
}
