package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/httpapi"
	"github.com/outboxmail/outbox/sqlite"
)

// startAPI serves the HTTP API over a SQLite store in a temporary
// directory and returns its URL.
func startAPI(t *testing.T, tokens ...string) string {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	client, err := outbox.NewClient(outbox.ClientConfig{Store: st})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(httpapi.New(httpapi.Config{Client: client, Tokens: tokens}))
	t.Cleanup(func() {
		srv.Close()
		st.Close()
	})
	return srv.URL
}

// result is what a run printed and returned.
type result struct {
	code           int
	stdout, stderr string
}

// cli runs the command line with the given environment and stdin.
func cli(t *testing.T, vars map[string]string, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr,
		func(name string) string { return vars[name] })
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// want fails unless the run exited with code and its output contains the
// given parts (on stdout for code 0, stderr otherwise).
func (r result) want(t *testing.T, code int, parts ...string) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	out := r.stdout
	if code != exitOK {
		out = r.stderr
	}
	for _, p := range parts {
		if !strings.Contains(out, p) {
			t.Errorf("output does not contain %q:\n%s", p, out)
		}
	}
	return r
}

// sentID parses the queue id that send printed.
func sentID(t *testing.T, r result) string {
	t.Helper()
	m := regexp.MustCompile(`^(\d+) (<[^>]+>) queued`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("send printed %q, want \"ID <message-id> queued\"", r.stdout)
	}
	return m[1]
}

func TestSendShowListStats(t *testing.T) {
	url := startAPI(t)
	vars := map[string]string{"OUTBOX_URL": url}

	attach := filepath.Join(t.TempDir(), "report.csv")
	if err := os.WriteFile(attach, []byte("a,b\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := cli(t, vars, "", "send", "--from", "Alice <alice@example.com>", "--to", "bob@example.com, carol@example.com",
		"--subject", "Quarterly report", "--text", "See attached.", "--attach", attach, "--tag", "reports",
		"--priority", "high", "--header", "X-Campaign: q3").want(t, exitOK)
	id := sentID(t, r)

	r = cli(t, vars, "", "show", id).want(t, exitOK, "ID:", id, "Status:", "queued", "Subject:", "Quarterly report",
		"From:", "alice@example.com", "Priority:", "high", "Tags:", "reports", "Recipients:", "bob@example.com",
		"carol@example.com", "pending", "Attempts: none yet")

	r = cli(t, vars, "", "show", "--json", id).want(t, exitOK)
	var rec outbox.Record
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil {
		t.Fatalf("show --json: %v\n%s", err, r.stdout)
	}
	if strconv.FormatInt(rec.ID, 10) != id || len(rec.Recipients) != 2 || rec.Subject != "Quarterly report" {
		t.Errorf("show --json: %+v", rec)
	}

	// Flags may follow the id.
	r = cli(t, vars, "", "show", id, "--raw").want(t, exitOK, "Subject: Quarterly report\r\n", "X-Campaign: q3\r\n",
		"report.csv", "text/csv")

	cli(t, vars, "", "send", "--from", "alice@example.com", "--to", "dave@example.com", "--subject", "Second",
		"--html", "<p>Hi</p>").want(t, exitOK)

	r = cli(t, vars, "", "ls").want(t, exitOK, "ID", "STATUS", "CREATED", "FROM", "TO", "SUBJECT",
		"Quarterly report", "bob@example.com +1", "Second", "dave@example.com")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.Contains(lines[1], "Second") || !strings.HasPrefix(lines[2], id+" ") {
		t.Errorf("ls, newest first:\n%s", r.stdout)
	}

	r = cli(t, vars, "", "ls", "--limit", "1").want(t, exitOK, "Second")
	m := regexp.MustCompile(`outbox ls --cursor (\d+)`).FindStringSubmatch(r.stderr)
	if m == nil {
		t.Fatalf("no next-page hint on stderr: %q", r.stderr)
	}
	r = cli(t, vars, "", "ls", "--limit", "1", "--cursor", m[1]).want(t, exitOK, "Quarterly report")
	if strings.Contains(r.stdout, "Second") || r.stderr != "" {
		t.Errorf("second page:\n%s\nstderr %q", r.stdout, r.stderr)
	}

	r = cli(t, vars, "", "ls", "--json", "--status", "queued").want(t, exitOK)
	var page httpapi.ListResponse
	if err := json.Unmarshal([]byte(r.stdout), &page); err != nil || len(page.Messages) != 2 {
		t.Errorf("ls --json: %v\n%s", err, r.stdout)
	}
	cli(t, vars, "", "ls", "--status", "sent").want(t, exitOK, "(no messages)")
	cli(t, vars, "", "ls", "--status", "lost").want(t, exitError, "outbox ls:", "status", `"lost"`)

	cli(t, vars, "", "cancel", id).want(t, exitOK, id+" cancelled")
	cli(t, vars, "", "cancel", id).want(t, exitError, "outbox cancel:", "cannot cancel a cancelled message")
	cli(t, vars, "", "retry", id).want(t, exitError, "outbox retry:", "cannot retry")

	r = cli(t, vars, "", "stats").want(t, exitOK, "queued", "cancelled", "oldest pending:")
	if !regexp.MustCompile(`(?m)^queued\s+1$`).MatchString(r.stdout) ||
		!regexp.MustCompile(`(?m)^cancelled\s+1$`).MatchString(r.stdout) {
		t.Errorf("stats:\n%s", r.stdout)
	}
	r = cli(t, vars, "", "stats", "--json").want(t, exitOK)
	var st httpapi.StatsResponse
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil || st.Counts[outbox.StatusQueued] != 1 {
		t.Errorf("stats --json: %v %s", err, r.stdout)
	}
}

func TestSendRawFromStdin(t *testing.T) {
	url := startAPI(t)
	vars := map[string]string{"OUTBOX_URL": url}
	raw := "From: Alice <alice@example.com>\r\n" +
		"To: Bob <bob@example.com>\r\n" +
		"Cc: carol@example.com\r\n" +
		"Bcc: secret@example.com,\r\n" +
		" also-secret@example.com\r\n" +
		"Subject: Piped\r\n" +
		"Message-ID: <piped-1@example.com>\r\n" +
		"Date: Wed, 02 Jan 2030 03:04:05 +0000\r\n" +
		"\r\n" +
		"Bcc: this line is body, not header\r\n"

	// Envelope from the headers; the Bcc header is removed.
	r := cli(t, vars, raw, "send").want(t, exitOK, "<piped-1@example.com>")
	id := sentID(t, r)
	r = cli(t, vars, "", "show", "--json", id).want(t, exitOK)
	var rec outbox.Record
	if err := json.Unmarshal([]byte(r.stdout), &rec); err != nil {
		t.Fatal(err)
	}
	var rcpts []string
	for _, rc := range rec.Recipients {
		rcpts = append(rcpts, rc.Addr)
	}
	if rec.From != "alice@example.com" || strings.Join(rcpts, " ") != "bob@example.com carol@example.com secret@example.com also-secret@example.com" {
		t.Errorf("envelope from %q to %v", rec.From, rcpts)
	}
	r = cli(t, vars, "", "show", "--raw", id).want(t, exitOK)
	want := strings.Replace(raw, "Bcc: secret@example.com,\r\n also-secret@example.com\r\n", "", 1)
	if r.stdout != want {
		t.Errorf("stored\n%q\nwant\n%q", r.stdout, want)
	}

	// An explicit envelope leaves the bytes alone.
	r = cli(t, vars, raw, "send", "--from", "bounces@example.com", "dave@example.com").want(t, exitOK)
	id = sentID(t, r)
	r = cli(t, vars, "", "show", "--raw", id).want(t, exitOK)
	if r.stdout != raw {
		t.Errorf("raw with --to changed:\n%q", r.stdout)
	}
	cli(t, vars, "", "show", id).want(t, exitOK, "From:", "bounces@example.com", "dave@example.com")
	if strings.Contains(cli(t, vars, "", "show", id).stdout, "bob@example.com") {
		t.Errorf("header recipients used although --to was given")
	}

	cli(t, vars, "", "send").want(t, exitUsage, "stdin is empty")
	cli(t, vars, "Subject: none\r\n\r\nbody\r\n", "send").want(t, exitError, "no recipient")
	cli(t, vars, raw, "send", "--subject", "x").want(t, exitUsage, "do not apply to a raw message")
}

func TestCLIErrors(t *testing.T) {
	url := startAPI(t)
	vars := map[string]string{"OUTBOX_URL": url}

	cli(t, vars, "", "show", "99999").want(t, exitError, "outbox show:", "message not found")
	cli(t, vars, "", "retry", "99999").want(t, exitError, "outbox retry:", "not found")
	cli(t, vars, "", "show", "abc").want(t, exitUsage, `invalid message id "abc"`)
	cli(t, vars, "", "show").want(t, exitUsage, "want 1 argument")
	cli(t, vars, "", "show", "1", "2").want(t, exitUsage)
	cli(t, vars, "", "show", "1", "--json", "--raw").want(t, exitUsage, "--json and --raw")
	cli(t, vars, "", "ls", "--limit", "0").want(t, exitUsage, "--limit")
	cli(t, vars, "", "ls", "--bogus").want(t, exitUsage, "flag provided but not defined: -bogus")
	cli(t, vars, "", "send", "--to", "not an address", "--text", "x").want(t, exitUsage, "-to")
	cli(t, vars, "", "send", "--from", "alice@example.com", "--text", "x").want(t, exitUsage, "no recipient")
	cli(t, vars, "", "send", "--from", "alice@example.com", "--to", "bob@example.com", "--text", "x",
		"--priority", "urgent").want(t, exitUsage, "--priority")
	cli(t, vars, "", "send", "--to", "bob@example.com", "--text", "x").want(t, exitError, "outbox send:", "from")
	cli(t, vars, "", "send", "--from", "alice@example.com", "--to", "bob@example.com", "--subject", "a\nb",
		"--text", "x").want(t, exitError, "subject")
	cli(t, vars, "", "send", "--from", "alice@example.com", "--to", "bob@example.com", "--text", "x",
		"--attach", filepath.Join(t.TempDir(), "missing.pdf")).want(t, exitError, "missing.pdf")
	cli(t, vars, "", "frobnicate").want(t, exitUsage, `unknown command "frobnicate"`)
	cli(t, vars, "").want(t, exitUsage, "usage: outbox COMMAND")
	if r := cli(t, vars, "", "help"); r.code != exitOK || !strings.Contains(r.stdout, "retry") {
		t.Errorf("help: %+v", r)
	}
	cli(t, vars, "", "help", "send").want(t, exitOK, "usage: outbox send", "-attach", "-idempotency-key", "OUTBOX")
	cli(t, vars, "", "help", "serve").want(t, exitOK, "OUTBOX_RETRY_MAX_LIFETIME", "retry.max_lifetime", "-data-dir",
		"GOGC", "GOMAXPROCS", "SIGTERM")
	cli(t, vars, "", "help", "help").want(t, exitOK, "usage: outbox COMMAND")
	cli(t, vars, "", "help", "passwd").want(t, exitOK, `printf '%s\n' "$PASSWORD" | outbox passwd`)
	cli(t, vars, "", "help", "sendmail").want(t, exitOK, "-M, -O,", "-U, -G, -c, -s, -x")
	cli(t, vars, "", "show", "-h").want(t, exitOK)
	cli(t, vars, "", "version").want(t, exitOK, "outbox ", "go1")

	// Nothing listening.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String()
	ln.Close()
	cli(t, nil, "", "ls", "--server", dead).want(t, exitError, "outbox ls:", "connection refused", "--server", "OUTBOX_URL")
}

func TestCLIToken(t *testing.T) {
	url := startAPI(t, "s3cret")
	cli(t, map[string]string{"OUTBOX_URL": url}, "", "stats").want(t, exitError, "outbox stats:", "bearer token", "OUTBOX_TOKEN")
	cli(t, map[string]string{"OUTBOX_URL": url, "OUTBOX_TOKEN": "wrong"}, "", "stats").want(t, exitError, "--token")
	cli(t, map[string]string{"OUTBOX_URL": url, "OUTBOX_TOKEN": "s3cret"}, "", "stats").want(t, exitOK, "queued")
	cli(t, nil, "", "ls", "--server", url, "--token", "s3cret").want(t, exitOK, "(no messages)")
	r := cli(t, map[string]string{"OUTBOX_URL": url}, "", "send", "--token", "s3cret", "--from", "a@example.com",
		"--to", "b@example.com", "--text", "x", "--idempotency-key", "k1").want(t, exitOK)
	id := sentID(t, r)
	r = cli(t, map[string]string{"OUTBOX_URL": url}, "", "send", "--token", "s3cret", "--from", "a@example.com",
		"--to", "b@example.com", "--text", "x", "--idempotency-key", "k1").want(t, exitOK, "existing")
	if got := strings.Fields(r.stdout)[0]; got != id {
		t.Errorf("repeat with the same key: id %s, want %s", got, id)
	}
}
