package main

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/outboxmail/outbox/backend"
	"github.com/outboxmail/outbox/backend/limit"
	"github.com/outboxmail/outbox/backend/redirect"
)

// backendsFile is a config file with every backend key, and a section
// for each profile.
const backendsFile = `
[backends]
relay = "smtp://relay.example.com:587"
debug = "console:"
bulk = "failover(relay smtp://bulk.example.com:25)?cooldown=2m"
default = "fanout(relay debug)"

[[routes]]
recipient_domain = "example.org"
backend = "bulk"

[[routes]]
tag = "newsletter"
sender_domain = "news.example.com"
backend = "bulk"

[limits.relay]
rate = ["20/s", "10000/d"]
burst = 5
max_concurrent = 4
max_per_domain = 2
recovery = "1m"

[limits.bulk]
rate = "600/m"

[profiles.development]
backend = "console:"

[profiles.staging]
redirect_to = ["qa@example.com"]
allow = ["@example.com", "boss@partner.example"]
[profiles.staging.backends]
relay = "smtp://staging-relay.example.com:587"

[profiles.production.limits.relay]
rate = "50/s"

[[profiles.production.routes]]
tag = "bulk"
backend = "bulk"
`

func TestConfigBackendTables(t *testing.T) {
	path := writeFile(t, "outbox.toml", backendsFile)
	c, err := loadServeConfig(t, []string{"--config", path}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantNamed := map[string]string{
		"relay":   "smtp://relay.example.com:587",
		"debug":   "console:",
		"bulk":    "failover(relay smtp://bulk.example.com:25)?cooldown=2m",
		"default": "fanout(relay debug)",
	}
	if !reflect.DeepEqual(c.named(), wantNamed) {
		t.Errorf("named backends %v, want %v", c.named(), wantNamed)
	}
	wantRoutes := []backend.Rule{
		{RecipientDomain: "example.org", Backend: "bulk"},
		{Tag: "newsletter", SenderDomain: "news.example.com", Backend: "bulk"},
	}
	if !reflect.DeepEqual(c.Routes, wantRoutes) {
		t.Errorf("routes %+v", c.Routes)
	}
	wantLimits := map[string]limit.Config{
		"relay": {Rates: []limit.Rate{{N: 20, Per: time.Second}, {N: 10000, Per: 24 * time.Hour}},
			Burst: 5, MaxConcurrent: 4, MaxPerDomain: 2, Recovery: time.Minute},
		"bulk": {Rates: []limit.Rate{{N: 600, Per: time.Minute}}, Recovery: limit.DefaultRecovery},
	}
	if !reflect.DeepEqual(c.Limits, wantLimits) {
		t.Errorf("limits %+v", c.Limits)
	}
	if c.Profile != "" || c.Redirect != nil {
		t.Errorf("no profile chosen, got %q %+v", c.Profile, c.Redirect)
	}

	// development: its backend replaces the file's [backends] default.
	c, err = loadServeConfig(t, []string{"--config", path}, map[string]string{"OUTBOX_PROFILE": "development"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Profile != "development" || c.named()["default"] != "console:" || c.named()["relay"] != "smtp://relay.example.com:587" {
		t.Errorf("development: profile %q, named %v", c.Profile, c.named())
	}

	// staging: [backends] merge by name; the redirect is on.
	c, err = loadServeConfig(t, []string{"--config", path, "--profile", "staging"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	wantRedirect := &redirect.Config{To: []string{"qa@example.com"}, Allow: []string{"@example.com", "boss@partner.example"}}
	if c.Profile != "staging" || !reflect.DeepEqual(c.Redirect, wantRedirect) ||
		c.named()["relay"] != "smtp://staging-relay.example.com:587" || c.named()["default"] != "fanout(relay debug)" {
		t.Errorf("staging: profile %q, redirect %+v, named %v", c.Profile, c.Redirect, c.named())
	}

	// production: [limits] merge by name, [[routes]] replace the list; no
	// redirect. --profile wins over OUTBOX_PROFILE.
	c, err = loadServeConfig(t, []string{"--config", path, "--profile", "production"}, map[string]string{"OUTBOX_PROFILE": "staging"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Profile != "production" || c.Redirect != nil || len(c.Routes) != 1 || c.Routes[0].Tag != "bulk" ||
		!reflect.DeepEqual(c.Limits["relay"].Rates, []limit.Rate{{N: 50, Per: time.Second}}) || c.Limits["bulk"].Rates == nil {
		t.Errorf("production: profile %q, redirect %+v, routes %+v, limits %+v", c.Profile, c.Redirect, c.Routes, c.Limits)
	}
}

// TestConfigBackendErrors: each mistake is refused with the key it is at.
func TestConfigBackendErrors(t *testing.T) {
	tests := []struct {
		name, file string
		args       []string
		vars       map[string]string
		want       []string
	}{
		{name: "upper-case name", file: "[backends]\nRelay = \"console:\"\n", want: []string{"backends.Relay", "lower-case"}},
		{name: "combinator as name", file: "[backends]\nfanout = \"console:\"\n", want: []string{"backends.fanout", "combinator"}},
		{name: "empty expression", file: "[backends]\nrelay = \" \"\n", want: []string{"backends.relay", "must not be empty"}},
		{name: "both default keys", file: "backend = \"null:\"\n[backends]\ndefault = \"console:\"\n", want: []string{"backend and backends.default are both set"}},
		{name: "both default keys in a profile", file: "[profiles.production]\nbackend = \"null:\"\n[profiles.production.backends]\ndefault = \"console:\"\n",
			vars: map[string]string{"OUTBOX_PROFILE": "production"}, want: []string{"profiles.production.backend and profiles.production.backends.default"}},
		{name: "negative limits", file: "[backends]\nrelay = \"console:\"\n[limits.relay]\nburst = -1\nmax_concurrent = -2\n",
			want: []string{"limits.relay.burst: must not be negative (0 means each rate's count)", "limits.relay.max_concurrent: must not be negative (0 means no limit)"}},
		{name: "limits of no backend", file: "[backends]\nrelay = \"console:\"\n[limits.relai]\nrate = \"1/s\"\n",
			want: []string{"limits.relai", `no backend is named "relai"`, "default, relay"}},
		{name: "bad rate", file: "[backends]\nrelay = \"console:\"\n[limits.relay]\nrate = \"20 per second\"\n", want: []string{"limits.relay.rate", "20 per second"}},
		{name: "bad rate in a list", file: "[limits.default]\nrate = [\"20/s\", \"10/fortnight\"]\n", want: []string{"limits.default.rate", "fortnight"}},
		{name: "rate not a string", file: "[limits.default]\nrate = 20\n", want: []string{"limits.default.rate", "20/s"}},
		{name: "negative burst", file: "[limits.default]\nburst = -1\n", want: []string{"limits.default.burst", "negative"}},
		{name: "bad recovery", file: "[limits.default]\nrecovery = \"soon\"\n", want: []string{"limits.default.recovery", "soon"}},
		{name: "unknown limit key", file: "[limits.default]\nrates = \"1/s\"\n", want: []string{`unknown config key "limits.default.rates"`}},
		{name: "profile limits of no backend", file: "[profiles.staging]\nredirect_to = [\"qa@example.com\"]\n[profiles.staging.limits.relay]\nrate = \"1/s\"\n",
			vars: map[string]string{"OUTBOX_PROFILE": "staging"}, want: []string{"profiles.staging.limits.relay", `no backend is named "relay"`}},
		{name: "route without condition", file: "[[routes]]\nbackend = \"default\"\n", want: []string{"routes: route 1: no condition"}},
		{name: "route to unknown backend", file: "[[routes]]\ntag = \"x\"\nbackend = \"default\"\n[[routes]]\ntag = \"y\"\nbackend = \"bulk\"\n",
			want: []string{"routes: route 2: unknown backend \"bulk\""}},
		{name: "profile route", file: "[[profiles.production.routes]]\ntag = \"y\"\nbackend = \"bulk\"\n",
			args: []string{"--profile", "production"}, want: []string{"profiles.production.routes: route 1"}},
		{name: "unknown profile section", file: "[profiles.prod]\nbackend = \"null:\"\n", want: []string{`unknown config key "profiles.prod"`}},
		{name: "redirect outside staging", file: "[profiles.production]\nredirect_to = [\"qa@example.com\"]\n", want: []string{`"profiles.production.redirect_to"`}},
		{name: "unknown profile", file: "", vars: map[string]string{"OUTBOX_PROFILE": "prod"}, want: []string{`unknown profile "prod"`, "development, staging, production"}},
		{name: "staging without redirect", file: "[profiles.staging]\nbackend = \"console:\"\n", args: []string{"--profile", "staging"},
			want: []string{"profiles.staging.redirect_to", "required"}},
		{name: "staging without a file", vars: map[string]string{"OUTBOX_PROFILE": "staging"}, want: []string{"profiles.staging.redirect_to"}},
		// A profile that is not the active one is checked too, its
		// backends built, so that its mistakes show before it is used.
		{name: "inactive profile's bad rate", file: "[profiles.production.limits.default]\nrate = \"fast\"\n",
			want: []string{"profile production (not the active one)", "profiles.production.limits.default.rate", "fast"}},
		{name: "inactive profile's bad backend", file: "[profiles.production]\nbackend = \"smtp://relay.example.com:99999\"\n",
			args: []string{"--profile", "development"}, want: []string{"profile production (not the active one)", "99999"}},
		{name: "inactive staging without redirect", file: "[profiles.staging]\nbackend = \"console:\"\n",
			want: []string{"profile staging (not the active one)", "profiles.staging.redirect_to", "required"}},
		{name: "staging with bad addresses", file: "[profiles.staging]\nredirect_to = [\"qa\"]\nallow = [\"@\", \"example.com\"]\n",
			args: []string{"--profile", "staging"}, want: []string{"redirect_to[0]", `"qa"`, "allow[0]", "allow[1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := tt.args
			if tt.file != "" {
				args = append([]string{"--config", writeFile(t, "outbox.toml", tt.file)}, args...)
			}
			_, err := loadServeConfig(t, args, tt.vars)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
}

// TestOpenBackendsErrors: a malformed expression is refused when the
// backends are built, pointing at the problem.
func TestOpenBackendsErrors(t *testing.T) {
	tests := []struct{ name, file, want string }{
		{"unbalanced", "[backends]\ndefault = \"fanout(console: null:\"\n", `backend "default" = "fanout(console: null:": column 7: unbalanced parentheses`},
		{"unknown scheme", "backend = \"fanout(console: smtq://relay:25)\"\n", `column 17: backend smtq://relay:25: unknown scheme "smtq"`},
		{"unknown name", "[backends]\nrelay = \"console:\"\ndefault = \"fanout(relai console:)\"\n", `column 8: unknown backend "relai"`},
		{"cycle", "[backends]\na = \"fanout(b console:)\"\nb = \"failover(a null:)\"\ndefault = \"a\"\n", "backend cycle: a → b → a"},
		{"password hidden", "backend = \"fanout(smtp://u:hunter2@relay:25?bogus=1)\"\n", "smtp://u:xxxxx@relay:25"},
		// With hostname set, the EHLO name is added to the URL's query:
		// a query that does not parse is still refused, not cut down to
		// the pairs that do.
		{"bad escape with hostname", "hostname = \"mail.example.com\"\nbackend = \"smtp://127.0.0.1:1025?tls=none&timeout=%zz\"\n", `invalid URL escape "%zz"`},
		{"semicolon with hostname", "hostname = \"mail.example.com\"\nbackend = \"smtp://127.0.0.1:1025?tls=starttls;insecure_skip_verify=true\"\n", "semicolon"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadServeConfig(t, []string{"--config", writeFile(t, "outbox.toml", tt.file)}, nil)
			if err != nil {
				t.Fatal(err)
			}
			set, _, err := openBackends(cfg)
			if err == nil {
				set.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("error %q, want %q", err, tt.want)
			}
		})
	}
}

func TestRedactBackend(t *testing.T) {
	got := redactBackend("fanout(smtp://u:secret@relay:587 failover(a smtps://x:y@b:465)?cooldown=1m)")
	want := "fanout(smtp://u:xxxxx@relay:587 failover(a smtps://x:xxxxx@b:465)?cooldown=1m)"
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

// TestConfigBackendOverridesFileDefault: OUTBOX_BACKEND, then --backend,
// replace the file's default backend, whichever key set it there.
func TestConfigBackendOverridesFileDefault(t *testing.T) {
	for _, file := range []string{"[backends]\ndefault = \"console:\"\nrelay = \"null:\"\n",
		"backend = \"console:\"\n[backends]\nrelay = \"null:\"\n"} {
		path := writeFile(t, "outbox.toml", file)
		for _, tc := range []struct {
			args []string
			vars map[string]string
			want string
		}{
			{nil, nil, "console:"},
			{nil, map[string]string{"OUTBOX_BACKEND": "memory:"}, "memory:"},
			{[]string{"--backend", "file:///tmp/x"}, map[string]string{"OUTBOX_BACKEND": "memory:"}, "file:///tmp/x"},
		} {
			c, err := loadServeConfig(t, append([]string{"--config", path}, tc.args...), tc.vars)
			if err != nil {
				t.Fatalf("%q %v %v: %v", file, tc.args, tc.vars, err)
			}
			if got := c.named(); got["default"] != tc.want || got["relay"] != "null:" {
				t.Errorf("%q %v %v: backends %v, want default %s", file, tc.args, tc.vars, got, tc.want)
			}
		}
	}
}
