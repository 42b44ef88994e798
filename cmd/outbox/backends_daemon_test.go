package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outboxmail/outbox/outboxtest"
)

// sinkURL is the backend URL of an SMTP sink.
func sinkURL(s *outboxtest.Sink) string { return "smtp://" + s.Addr() + "?tls=none" }

// enqueue posts a message over HTTP and returns its queue id; it fails
// the test unless the answer is 202.
func enqueue(t *testing.T, d *served, msg map[string]any) int64 {
	t.Helper()
	var rc struct{ ID int64 }
	if code, err := post(context.Background(), d.URL+"/v1/messages", msg, &rc); err != nil || code != 202 {
		t.Fatalf("POST %v: %d %v", msg, code, err)
	}
	return rc.ID
}

// subjects returns the Subject fields of the messages a sink received,
// sorted.
func subjects(msgs []outboxtest.SinkMessage) []string {
	var out []string
	for _, m := range msgs {
		for _, line := range strings.Split(string(m.Data), "\r\n") {
			if v, ok := strings.CutPrefix(line, "Subject: "); ok {
				out = append(out, v)
				break
			}
		}
	}
	slices.Sort(out)
	return out
}

// TestServeNamedBackendsAndRoutes boots serve with named backends, each
// an SMTP sink, a fanout default that also prints to the console, a rate
// limit and routing rules, then checks that every way of choosing a
// backend reaches the right sink: the default, the API's backend field,
// SMTP's X-Outbox-Backend, a rule by recipient domain and a rule by tag;
// and that an unknown name is a 400.
func TestServeNamedBackendsAndRoutes(t *testing.T) {
	a, b, c := outboxtest.NewSink(t), outboxtest.NewSink(t), outboxtest.NewSink(t)
	d := startServe(t, []string{"--data-dir", t.TempDir()}, writeConfig(t, fmt.Sprintf(`
[backends]
a = %q
b = %q
c = %q
default = "fanout(a console:)"

[limits.a]
rate = ["50/s", "10000/d"]
burst = 10

[[routes]]
recipient_domain = "b.example"
backend = "b"

[[routes]]
tag = "marketing"
backend = "c"
`, sinkURL(a), sinkURL(b), sinkURL(c))))
	if !strings.Contains(d.Stderr(), "backends=a,b,c,default") || !strings.Contains(d.Stderr(), "profile=none") {
		t.Errorf("start-up log does not list the backends and the profile:\n%s", d.Stderr())
	}

	msg := func(subject string, to string, extra map[string]any) map[string]any {
		m := map[string]any{"from": "app@example.com", "to": []string{to}, "subject": subject, "text": "hello"}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	def := enqueue(t, d, msg("default", "someone@example.net", nil))
	enqueue(t, d, msg("api field", "someone@example.net", map[string]any{"backend": "b"}))
	routed := enqueue(t, d, msg("recipient domain", "someone@b.example", nil))
	enqueue(t, d, msg("tag", "someone@example.net", map[string]any{"tags": []string{"marketing"}}))
	// The API's field wins over the rules.
	enqueue(t, d, msg("field over rule", "someone@b.example", map[string]any{"backend": "a"}))

	sc := dialSMTP(t, d.SMTP)
	if _, err := sendData(sc, "app@example.com", []string{"someone@example.net"},
		"From: app@example.com\r\nTo: someone@example.net\r\nSubject: smtp header\r\nX-Outbox-Backend: c\r\n\r\nhello\r\n"); err != nil {
		t.Fatal(err)
	}
	sc.Quit()

	var body bytes.Buffer
	code, err := post(context.Background(), d.URL+"/v1/messages", msg("unknown", "someone@example.net", map[string]any{"backend": "nope"}), nil)
	if err != nil || code != 400 {
		t.Errorf("unknown backend: %d %v, want 400", code, err)
	}
	resp, err := http.Post(d.URL+"/v1/messages", "application/json",
		strings.NewReader(`{"from":"app@example.com","to":["x@example.net"],"subject":"s","text":"t","backend":"nope"}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(&body, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !strings.Contains(body.String(), "backend") {
		t.Errorf("unknown backend: %d %s", resp.StatusCode, body.String())
	}

	want := map[*outboxtest.Sink][]string{
		a: {"default", "field over rule"},
		b: {"api field", "recipient domain"},
		c: {"smtp header", "tag"},
	}
	for sink, subj := range want {
		if got := subjects(sink.WaitFor(len(subj), 15*time.Second)); !slices.Equal(got, subj) {
			t.Errorf("sink %s got %v, want %v", sink.Addr(), got, subj)
		}
	}
	// The fanout's second leg printed the default message on stdout.
	waitStatus(t, d.URL, def, "sent")
	if !regexp.MustCompile(`Subject:\s+default\n`).MatchString(d.stdout.String()) {
		t.Errorf("the console leg printed nothing for the default message:\n%s", d.stdout)
	}
	if strings.Contains(d.stdout.String(), "api field") {
		t.Errorf("a message for backend b was printed too")
	}
	if r := record(t, d.URL, routed); r.Backend != "b" {
		t.Errorf("routed message stored with backend %q, want b", r.Backend)
	}
	time.Sleep(200 * time.Millisecond) // nothing more arrives
	for sink, subj := range want {
		if n := sink.Count(); n != len(subj) {
			t.Errorf("sink %s got %d messages, want %d", sink.Addr(), n, len(subj))
		}
	}
	d.Stop()
}

// TestServeProfiles: with the staging profile every recipient, in to, cc
// and bcc, goes to redirect_to unless allowed, with the originals in a
// header; with production, the same file delivers as addressed.
func TestServeProfiles(t *testing.T) {
	sink := outboxtest.NewSink(t)
	cfg := writeConfig(t, fmt.Sprintf(`
backend = "console:"

[profiles.staging]
backend = %[1]q
redirect_to = ["qa@example.com"]
allow = ["@example.com", "boss@partner.example"]

[profiles.production]
backend = %[1]q
`, sinkURL(sink)))
	msg := map[string]any{
		"from": "app@example.com", "subject": "staged", "text": "hello",
		"to":  []string{"customer@customer.example", "dev@example.com"},
		"cc":  []string{"boss@partner.example"},
		"bcc": []string{"audit@elsewhere.example"},
	}

	d := startServe(t, []string{"--data-dir", t.TempDir()}, cfg, "OUTBOX_PROFILE=staging")
	if !strings.Contains(d.Stderr(), "profile=staging") || !strings.Contains(d.Stderr(), "redirect_to=qa@example.com") {
		t.Errorf("start-up log does not show the staging profile:\n%s", d.Stderr())
	}
	id := enqueue(t, d, msg)
	// Two transactions: the allowed recipients get the message unchanged,
	// qa@ a copy whose header keeps the original recipients — which never
	// reaches an allowed recipient, since it names the Bcc.
	var allowed, redirected *outboxtest.SinkMessage
	for _, m := range sink.WaitFor(2, 15*time.Second) {
		if slices.Contains(m.To, "qa@example.com") {
			redirected = &m
		} else {
			allowed = &m
		}
	}
	if allowed == nil || redirected == nil {
		t.Fatal("staging did not deliver one allowed and one redirected transaction")
	}
	if rcpts := slices.Sorted(slices.Values(allowed.To)); !slices.Equal(rcpts, []string{"boss@partner.example", "dev@example.com"}) {
		t.Errorf("staging delivered to %v, want the allowed recipients", rcpts)
	}
	if len(redirected.To) != 1 {
		t.Errorf("redirected copy went to %v, want qa@example.com only", redirected.To)
	}
	if bytes.Contains(allowed.Data, []byte("audit@elsewhere.example")) {
		t.Error("the Bcc recipient leaked to the allowed recipients")
	}
	parsed, err := mail.ReadMessage(bytes.NewReader(redirected.Data))
	if err != nil {
		t.Fatal(err)
	}
	orig := parsed.Header.Get("X-Outbox-Original-Recipients")
	for _, a := range []string{"customer@customer.example", "audit@elsewhere.example"} {
		if !strings.Contains(orig, a) {
			t.Errorf("X-Outbox-Original-Recipients %q does not keep %s", orig, a)
		}
	}
	waitStatus(t, d.URL, id, "sent")
	d.Stop()

	sink.Reset()
	d = startServe(t, []string{"--data-dir", t.TempDir(), "--profile", "production"}, cfg)
	enqueue(t, d, msg)
	got := sink.WaitFor(1, 15*time.Second)[0]
	rcpts := slices.Sorted(slices.Values(got.To))
	if want := []string{"audit@elsewhere.example", "boss@partner.example", "customer@customer.example", "dev@example.com"}; !slices.Equal(rcpts, want) {
		t.Errorf("production delivered to %v, want %v", rcpts, want)
	}
	if bytes.Contains(got.Data, []byte("X-Outbox-Original-Recipients")) {
		t.Error("production added the redirect header")
	}
	d.Stop()
}

// TestServeRefusesBadBackendConfig: a mistake in the backend keys stops
// start-up with a message that points at it, before anything listens.
func TestServeRefusesBadBackendConfig(t *testing.T) {
	tests := []struct {
		name, file string
		env        []string
		want       []string
	}{
		{"unbalanced parentheses", `backend = "fanout(console: null:"`,
			nil, []string{`"fanout(console: null:"`, "column 7", "unbalanced parentheses"}},
		{"closing parenthesis", "[backends]\ndefault = \"fanout(console:))\"\n",
			nil, []string{`backend "default"`, "column 17", `")" has no "("`}},
		{"unknown scheme", "[backends]\nrelay = \"smtq://relay.example.com:25\"\ndefault = \"relay\"\n",
			nil, []string{`backend "relay"`, `unknown scheme "smtq"`, "known: console, file"}},
		{"unknown named backend", "[backends]\nrelay = \"console:\"\ndefault = \"failover(relai null:)\"\n",
			nil, []string{`backend "default"`, "column 10", `unknown backend "relai"`, "named backends: default, relay"}},
		{"cycle", "[backends]\na = \"fanout(b console:)\"\nb = \"roundrobin(a null:)\"\ndefault = \"a\"\n",
			nil, []string{"backend cycle: a → b → a"}},
		{"bad combinator parameter", `backend = "failover(console: null:)?cooldown=soon"`,
			nil, []string{"failover", "cooldown"}},
		{"password hidden", `backend = "smtp://app:hunter2@relay.example.com:25?nope=1"`,
			nil, []string{"app:xxxxx@relay.example.com", "nope"}},
		{"limits of no backend", "[limits.relay]\nrate = \"20/s\"\n",
			nil, []string{"limits.relay", `no backend is named "relay"`}},
		{"bad rate", "[limits.default]\nrate = [\"20/s\", \"many/d\"]\n",
			nil, []string{"limits.default.rate", "many"}},
		{"both default keys", "backend = \"null:\"\n[backends]\ndefault = \"console:\"\n",
			nil, []string{"backend and backends.default are both set"}},
		{"route to unknown backend", "[[routes]]\ntag = \"x\"\nbackend = \"bulk\"\n",
			nil, []string{"route 1", `unknown backend "bulk"`}},
		{"unknown profile", "", []string{"OUTBOX_PROFILE=prod"}, []string{`unknown profile "prod"`}},
		{"staging without redirect_to", "", []string{"OUTBOX_PROFILE=staging"}, []string{"profiles.staging.redirect_to", "required"}},
	}
	bin := outboxBinary(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfg := filepath.Join(dir, "outbox.toml")
			if err := os.WriteFile(cfg, []byte(tt.file), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(bin, "serve", "--config", cfg, "--data-dir", filepath.Join(dir, "data"), "--http-addr", "127.0.0.1:0")
			cmd.Env = append([]string{"HOME=" + dir, "OUTBOX_SMTP_ADDR=127.0.0.1:0"}, tt.env...)
			done := make(chan struct{})
			var out []byte
			var err error
			go func() { out, err = cmd.CombinedOutput(); close(done) }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("outbox serve did not stop:\n%s", out)
			}
			if err == nil || cmd.ProcessState.ExitCode() == 0 {
				t.Fatalf("outbox serve started: %v\n%s", err, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output does not say %q:\n%s", w, out)
				}
			}
			if strings.Contains(string(out), "hunter2") || strings.Contains(string(out), "listening") {
				t.Errorf("output shows a password or a listener:\n%s", out)
			}
		})
	}
}
