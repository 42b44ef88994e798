package main

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
	"github.com/outboxmail/outbox/httpapi"
	"github.com/outboxmail/outbox/sqlite"
)

// The tests in this file run `outbox sendmail` in this process against
// the HTTP API (startAPI); sendmail_daemon_test.go runs the binary.

// onlyMessage returns the one message the API at url holds, with its
// stored bytes.
func onlyMessage(t *testing.T, url string) (*outbox.Record, string) {
	t.Helper()
	api := httpapi.NewClient(url, "", nil)
	page, err := api.List(context.Background(), outbox.ListQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Records) != 1 {
		t.Fatalf("%d messages queued, want 1", len(page.Records))
	}
	rec, err := api.Get(context.Background(), page.Records[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := api.Raw(context.Background(), rec.ID)
	if err != nil {
		t.Fatal(err)
	}
	return rec, string(raw)
}

// envelopeTo lists a record's recipients.
func envelopeTo(rec *outbox.Record) []string {
	var out []string
	for _, r := range rec.Recipients {
		out = append(out, r.Addr)
	}
	return out
}

func TestSendmailRecipientsFromHeaders(t *testing.T) {
	url := startAPI(t)
	stdin := "From: Reports <reports@example.com>\n" +
		"To: Ann <ann@example.com>, bob@example.com\n" +
		"Cc: carol@example.com\n" +
		"Bcc: audit@example.com,\n  ANN@example.com\n" +
		"Subject: Weekly report\n" +
		"\n" +
		"Numbers are up.\n" +
		".\n" +
		"This line comes after the end.\n"
	r := cli(t, map[string]string{"OUTBOX_URL": url}, stdin, "sendmail", "-t", "extra@example.net")
	r.want(t, exitOK)
	if r.stdout != "" || r.stderr != "" {
		t.Errorf("sendmail printed %q %q; it should be silent", r.stdout, r.stderr)
	}
	rec, raw := onlyMessage(t, url)
	if rec.From != "reports@example.com" {
		t.Errorf("envelope sender %q, want the From field's address", rec.From)
	}
	want := []string{"extra@example.net", "ann@example.com", "bob@example.com", "carol@example.com", "audit@example.com"}
	if got := envelopeTo(rec); !slices.Equal(got, want) {
		t.Errorf("recipients %q, want %q", got, want)
	}
	if strings.Contains(raw, "Bcc") || strings.Contains(raw, "audit@") {
		t.Errorf("the Bcc field was queued:\n%s", raw)
	}
	if !strings.HasSuffix(raw, "\r\nSubject: Weekly report\r\n\r\nNumbers are up.\r\n") {
		t.Errorf("without -i, the lone dot must end the message:\n%q", raw)
	}
}

// TestSendmailCron runs sendmail as Debian's cron does, with a message
// whose fields name local users.
func TestSendmailCron(t *testing.T) {
	url := startAPI(t)
	stdin := "From: root (Cron Daemon)\n" +
		"To: root\n" +
		"Reply-To: \"(Cron Daemon)\" <root>\n" +
		"Cc:  Ops <ops@example.com>,\n ann@example.com\n" +
		"Subject: Cron <root@web1> /usr/local/bin/backup\n" +
		"\n" +
		"backup: 3 files\n" +
		".\n" +
		"done\n"
	vars := map[string]string{"OUTBOX_URL": url, "OUTBOX_HOSTNAME": "web1.example.com"}
	cli(t, vars, stdin, "sendmail", "-FCronDaemon", "-i", "-B8BITMIME", "-oem", "root").want(t, exitOK)
	rec, raw := onlyMessage(t, url)
	if rec.From != "root@web1.example.com" || !slices.Equal(envelopeTo(rec), []string{"root@web1.example.com"}) {
		t.Errorf("envelope %s → %v, want root@web1.example.com both", rec.From, envelopeTo(rec))
	}
	if !strings.HasSuffix(raw, "\r\n\r\nbackup: 3 files\r\n.\r\ndone\r\n") {
		t.Errorf("with -i, the message ends at end of input:\n%q", raw)
	}
	// Bare local names in address fields are qualified, as sendmail and
	// Postfix do, so that relays take the message; other fields keep
	// their bytes.
	for _, want := range []string{
		"\r\nFrom: \"Cron Daemon\" <root@web1.example.com>\r\n",
		"\r\nTo: <root@web1.example.com>\r\n",
		"\r\nReply-To: \"(Cron Daemon)\" <root@web1.example.com>\r\n",
		"\r\nCc:  Ops <ops@example.com>,\r\n ann@example.com\r\n",
	} {
		if !strings.Contains(raw, want) {
			t.Errorf("queued message lacks %q:\n%s", want, raw)
		}
	}
}

// TestSendmailBodyOnly: input without a header gets a From field (-F
// name, -f address) and an empty line; the queue adds Date and
// Message-ID.
func TestSendmailBodyOnly(t *testing.T) {
	url := startAPI(t)
	r := cli(t, map[string]string{"OUTBOX_URL": url}, "backup done\n",
		"sendmail", "-v", "-F", "Nightly Job", "-f", "jobs@example.com", "ops@example.com, Dev <dev@example.com>")
	r.want(t, exitOK, "queued as 1 <", "by the server at "+url)
	rec, raw := onlyMessage(t, url)
	if rec.From != "jobs@example.com" || !slices.Equal(envelopeTo(rec), []string{"ops@example.com", "dev@example.com"}) {
		t.Errorf("envelope %s → %v", rec.From, envelopeTo(rec))
	}
	for _, want := range []string{"Date: ", "Message-ID: <", "From: \"Nightly Job\" <jobs@example.com>\r\n\r\nbackup done\r\n"} {
		if !strings.Contains(raw, want) {
			t.Errorf("queued message lacks %q:\n%s", want, raw)
		}
	}
}

// TestSendmailEncodedNamesInAnyCharset: display names encoded in a
// charset Go does not decode (windows-1252, ISO-2022-JP as PHP's
// mb_send_mail writes Japanese) do not make their addresses invalid.
func TestSendmailEncodedNamesInAnyCharset(t *testing.T) {
	url := startAPI(t)
	stdin := "From: =?windows-1252?Q?Andr=E9?= <andre@example.com>\n" +
		"To: =?ISO-2022-JP?B?GyRCRnxLXDhsGyhC?= <taro@example.jp>, =?KOI8-R?B?7dXT?= <ivan@example.ru>\n" +
		"Subject: hi\n\nbody\n"
	cli(t, map[string]string{"OUTBOX_URL": url}, stdin, "sendmail", "-t", "-i").want(t, exitOK)
	rec, _ := onlyMessage(t, url)
	if rec.From != "andre@example.com" {
		t.Errorf("envelope sender %q, want the From field's address", rec.From)
	}
	if got, want := envelopeTo(rec), []string{"taro@example.jp", "ivan@example.ru"}; !slices.Equal(got, want) {
		t.Errorf("recipients %q, want %q", got, want)
	}
}

// TestSendmailBodyRightAfterHeader: a script's "Subject:" line followed
// straight away by its text is queued with that text as the body, the
// empty line between them added.
func TestSendmailBodyRightAfterHeader(t *testing.T) {
	url := startAPI(t)
	cli(t, map[string]string{"OUTBOX_URL": url}, "Subject: Alert\nDisk full on /var\n",
		"sendmail", "-f", "jobs@example.com", "admin@example.org").want(t, exitOK)
	rec, raw := onlyMessage(t, url)
	if rec.Subject != "Alert" || !strings.HasSuffix(raw, "Subject: Alert\r\n\r\nDisk full on /var\r\n") {
		t.Errorf("subject %q, queued message:\n%s", rec.Subject, raw)
	}
}

// failingReader fails the test if read: modes with nothing to do must
// not wait for input.
type failingReader struct{ t *testing.T }

func (r failingReader) Read([]byte) (int, error) {
	r.t.Error("standard input was read")
	return 0, io.EOF
}

func TestSendmailExitCodes(t *testing.T) {
	url := startAPI(t)
	tokenURL := startAPI(t, "right-token")
	msg := "From: a@example.com\nTo: b@example.com\nSubject: x\n\nhi\n"
	tests := []struct {
		name  string
		vars  map[string]string
		stdin string
		args  []string
		code  int
		want  string
	}{
		{"SMTP mode", nil, msg, []string{"-bs"}, exUsage, "-bs (SMTP on standard input) is not supported"},
		{"daemon mode", nil, msg, []string{"-bd"}, exUsage, "run outbox serve"},
		{"unknown option", nil, msg, []string{"-Z", "a@example.com"}, exUsage, "unknown option -Z"},
		{"no recipients", nil, msg, nil, exUsage, "no recipients"},
		{"bad recipient argument", nil, msg, []string{"a@@example.com"}, exUsage, "recipient"},
		{"bad sender", nil, msg, []string{"-f", "a@@example.com", "b@example.com"}, exUsage, "-f"},
		{"no recipient fields", map[string]string{"OUTBOX_URL": url}, "Subject: x\n\nhi\n", []string{"-t"}, exDataErr, "the message has no To, Cc or Bcc field"},
		{"bad To field", map[string]string{"OUTBOX_URL": url}, "To: a@@example.com\n\nhi\n", []string{"-t"}, exDataErr, "To field"},
		{"too large", map[string]string{"OUTBOX_URL": url, "OUTBOX_MAX_MESSAGE_SIZE": "1024"}, msg + strings.Repeat("x", 2000), []string{"-t"}, exDataErr, "larger than max_message_size (1024 bytes)"},
		{"token refused", map[string]string{"OUTBOX_URL": tokenURL, "OUTBOX_TOKEN": "wrong"}, msg, []string{"-t"}, exNoPerm, "refused the token"},
		{"token missing", map[string]string{"OUTBOX_URL": tokenURL}, msg, []string{"-t"}, exNoPerm, "OUTBOX_TOKEN"},
		{"missing config file", map[string]string{"OUTBOX_CONFIG": filepath.Join(t.TempDir(), "none.toml")}, msg, []string{"-t"}, exConfig, "none.toml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cli(t, tt.vars, tt.stdin, append([]string{"sendmail"}, tt.args...)...)
			r.want(t, tt.code, "outbox sendmail: ", tt.want)
		})
	}
	// A token from --token, or from the config file's api_tokens.
	cli(t, map[string]string{"OUTBOX_URL": tokenURL}, msg, "sendmail", "--token", "right-token", "-t").want(t, exitOK)
	cfg := writeFile(t, "outbox.toml", "api_tokens = [\"right-token\"]\n")
	cli(t, map[string]string{"OUTBOX_URL": tokenURL, "OUTBOX_CONFIG": cfg}, msg, "sendmail", "-t").want(t, exitOK)

	var stdout, stderr strings.Builder
	if code := run(context.Background(), []string{"sendmail", "-bi"}, failingReader{t}, &stdout, &stderr, (&envMap{}).getenv); code != exitOK {
		t.Errorf("-bi: exit %d %s", code, stderr.String())
	}
	cli(t, nil, "", "sendmail", "--help").want(t, exitOK, "usage: outbox sendmail", "-t ", "Exit codes")
	cli(t, nil, "", "help", "sendmail").want(t, exitOK, "usage: outbox sendmail", "75 not queued now")
}

// deadURL returns the URL of a loopback port where nothing listens.
func deadURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

// TestSendmailSubmitter covers what happens when no server answers: the
// message goes into the store of an existing data directory; a missing
// directory is never created; a locked one means "try again" (75).
func TestSendmailSubmitter(t *testing.T) {
	ctx := context.Background()
	dead := deadURL(t)
	newMessage := func() *outbox.Message {
		return &outbox.Message{Raw: []byte("Subject: hi\r\n\r\nhello\r\n"), From: outbox.Address{Addr: "a@example.com"},
			To: []outbox.Address{{Addr: "b@example.com"}}, IdempotencyKey: newSendmailKey()}
	}
	submitter := func(dir string, retryFor time.Duration) *submitter {
		return &submitter{api: httpapi.NewClient(dead, "", nil), server: dead, dataDir: dir, retryFor: retryFor}
	}

	missing := filepath.Join(t.TempDir(), "outbox-data")
	_, err := submitter(missing, 0).submit(ctx, newMessage())
	var f *sendmailFailure
	if !errors.As(err, &f) || f.code != exTempFail || !strings.Contains(err.Error(), "there is no data directory "+missing) {
		t.Errorf("no server, no data dir: %v", err)
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("sendmail created the data directory %s", missing)
	}

	dir := t.TempDir()
	m := newMessage()
	q, err := submitter(dir, 0).submit(ctx, m)
	if err != nil || !q.local || q.receipt.ID == 0 {
		t.Fatalf("no server, data dir free: %+v %v", q, err)
	}
	again, err := submitter(dir, 0).submit(ctx, m)
	if err != nil || again.receipt.ID != q.receipt.ID || !again.receipt.Existing {
		t.Errorf("the same message again (same idempotency key): %+v %v, want message %d", again.receipt, err, q.receipt.ID)
	}

	st, err := sqlite.Open(ctx, sqlite.Config{Dir: dir}) // as a starting server would
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	_, err = submitter(dir, 300*time.Millisecond).submit(ctx, newMessage())
	if !errors.As(err, &f) || f.code != exTempFail || !strings.Contains(err.Error(), "is locked by another process") {
		t.Errorf("no server, data dir locked: %v", err)
	}
	if time.Since(start) < 200*time.Millisecond {
		t.Errorf("gave up after %s without retrying", time.Since(start))
	}
}

// TestSendmailLocalRoutes: a message that goes straight into the store,
// no server answering, gets the backend its [[routes]] name, as the
// server would give it: those of the profile OUTBOX_PROFILE or
// --profile names, when one does.
func TestSendmailLocalRoutes(t *testing.T) {
	const msg = "From: cron@news.example.com\nTo: root@example.org\nSubject: x\n\nhi\n"
	for _, tc := range []struct {
		name    string
		profile string // OUTBOX_PROFILE
		args    []string
		want    string
	}{
		{"no profile", "", nil, "ops"},
		{"--profile", "", []string{"--profile", "production"}, "bulk"},
		{"OUTBOX_PROFILE", "production", nil, "bulk"},
		{"--profile over OUTBOX_PROFILE", "production", []string{"--profile=development"}, "ops"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := writeFile(t, "outbox.toml", "data_dir = \""+dir+"\"\n"+
				"http_addr = \""+strings.TrimPrefix(deadURL(t), "http://")+"\"\n"+
				"[backends]\ndefault = \"console:\"\nops = \"memory:\"\nbulk = \"null:\"\n"+
				"[[routes]]\nrecipient_domain = \"example.org\"\nbackend = \"ops\"\n"+
				"[[profiles.production.routes]]\nsender_domain = \"news.example.com\"\nbackend = \"bulk\"\n")
			ctx := context.Background()
			st, err := sqlite.Open(ctx, sqlite.Config{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			st.Close()
			vars := map[string]string{"OUTBOX_CONFIG": cfg, "OUTBOX_PROFILE": tc.profile}
			args := append([]string{"sendmail", "-t", "-v"}, tc.args...)
			cli(t, vars, msg, args...).want(t, exitOK, "no server answered")
			st, err = sqlite.Open(ctx, sqlite.Config{Dir: dir})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			rec, err := st.Get(ctx, 1)
			if err != nil {
				t.Fatal(err)
			}
			if rec.Backend != tc.want {
				t.Errorf("stored with backend %q, want %s (its route's)", rec.Backend, tc.want)
			}
		})
	}
	cli(t, map[string]string{"OUTBOX_URL": deadURL(t)}, msg, "sendmail", "-t", "--profile", "prod").
		want(t, exConfig, `unknown profile "prod"`)
}
