package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outboxmail/outbox/outboxtest"
	"github.com/outboxmail/outbox/sqlite"
)

// runSendmail runs the outbox binary through a symlink named sendmail,
// as /usr/sbin/sendmail would be, with env as its whole environment
// (plus PATH and HOME) and stdin as its input.
func runSendmail(t *testing.T, env []string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	link := filepath.Join(t.TempDir(), "sendmail")
	if err := os.Symlink(outboxBinary(t), link); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(link, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "USER=tester"}, env...)
	cmd.Dir = t.TempDir() // no ./outbox-data here
	cmd.Stdin = strings.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	return code, out.String(), errOut.String()
}

// cronMessage is what a job's output looks like to sendmail -t -i.
const cronMessage = "From: Nightly <nightly@example.com>\n" +
	"To: ops@example.com\n" +
	"Bcc: archive@example.org\n" +
	"Subject: backup report\n" +
	"\n" +
	"backup: ok\n" +
	".\n" +
	"(the line above is a lone dot)\n"

func TestSendmailDeliversThroughServer(t *testing.T) {
	sink := outboxtest.NewSink(t)
	d := startDaemon(t, t.TempDir(), "smtp://"+sink.Addr()+"?tls=none")
	code, stdout, stderr := runSendmail(t, []string{"OUTBOX_URL=" + d.URL}, cronMessage, "-t", "-i")
	if code != 0 || stdout != "" || stderr != "" {
		t.Fatalf("sendmail -t -i: exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
	got := sink.WaitFor(1, 15*time.Second)[0]
	if got.From != "nightly@example.com" || !slices.Equal(got.To, []string{"ops@example.com", "archive@example.org"}) {
		t.Errorf("envelope %s → %v", got.From, got.To)
	}
	if bytes.Contains(got.Data, []byte("Bcc")) || bytes.Contains(got.Data, []byte("archive@")) {
		t.Errorf("the Bcc field was delivered:\n%s", got.Data)
	}
	if !bytes.HasSuffix(got.Data, []byte("\r\nSubject: backup report\r\n\r\nbackup: ok\r\n.\r\n(the line above is a lone dot)\r\n")) {
		t.Errorf("delivered %q", got.Data)
	}
	d.Stop()
}

// TestSendmailQueuesWhileServerIsDown: with the server stopped, sendmail
// queues into the data directory; the next start delivers the message.
func TestSendmailQueuesWhileServerIsDown(t *testing.T) {
	sink := outboxtest.NewSink(t)
	dir := t.TempDir()
	backendURL := "smtp://" + sink.Addr() + "?tls=none"
	d := startDaemon(t, dir, backendURL)
	d.Stop()

	code, stdout, stderr := runSendmail(t, []string{"OUTBOX_URL=" + d.URL, "OUTBOX_DATA_DIR=" + dir}, cronMessage, "-t", "-i", "-v")
	if code != 0 {
		t.Fatalf("sendmail with the server down: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "queued as 1 ") || !strings.Contains(stdout, "no server answered") {
		t.Errorf("-v printed %q", stdout)
	}
	if sink.Count() != 0 {
		t.Fatal("delivered with no server running?")
	}

	d = startDaemon(t, dir, backendURL)
	got := sink.WaitFor(1, 15*time.Second)[0]
	if !slices.Equal(got.To, []string{"ops@example.com", "archive@example.org"}) || bytes.Contains(got.Data, []byte("Bcc")) {
		t.Errorf("delivered to %v:\n%s", got.To, got.Data)
	}
	waitStatus(t, d.URL, 1, "sent")
	d.Stop()
}

// TestSendmailLockedAndNoServer: when the data directory is held (a
// server starting) and nothing answers HTTP, sendmail retries for a few
// seconds, then exits 75 (EX_TEMPFAIL) saying the message was not
// queued.
func TestSendmailLockedAndNoServer(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	start := time.Now()
	code, _, stderr := runSendmail(t, []string{"OUTBOX_URL=" + deadURL(t), "OUTBOX_DATA_DIR=" + dir}, cronMessage, "-t", "-i")
	if code != exTempFail {
		t.Fatalf("exit %d, want %d (EX_TEMPFAIL)\n%s", code, exTempFail, stderr)
	}
	for _, want := range []string{"outbox sendmail: no Outbox server answered", "connection refused", "is locked by another process", "not queued"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr %q lacks %q", stderr, want)
		}
	}
	if elapsed := time.Since(start); elapsed < sendmailRetryFor-time.Second {
		t.Errorf("gave up after %s, want about %s of retries", elapsed, sendmailRetryFor)
	}
}

// TestServeWaitsForABriefLock: a sendmail that queued into the data
// directory holds its lock for a moment; a server starting then waits
// instead of failing.
func TestServeWaitsForABriefLock(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	released := make(chan struct{})
	go func() {
		time.Sleep(500 * time.Millisecond)
		st.Close()
		close(released)
	}()
	d := startDaemon(t, dir, "null:")
	select {
	case <-released:
	default:
		t.Error("outbox serve started while the data directory was locked")
	}
	d.Stop()
}

// TestSendmailInterrupted: Ctrl-C (SIGINT) while sendmail waits for its
// message on standard input ends it at once, queueing nothing.
func TestSendmailInterrupted(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(outboxBinary(t), "sendmail", "--data-dir", dir, "--server", deadURL(t), "root")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Half a message, then Ctrl-C while sendmail waits for the rest.
	if _, err := io.WriteString(stdin, "Subject: half\n\nthe first half\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	ended := make(chan error, 1)
	go func() { ended <- cmd.Wait() }()
	select {
	case err := <-ended:
		if err == nil {
			t.Error("sendmail exited 0 after SIGINT")
		}
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatal("sendmail still running 5 s after SIGINT")
	}
	st, err := sqlite.Open(context.Background(), sqlite.Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if stats, err := st.Stats(context.Background()); err != nil || stats.Total() != 0 {
		t.Errorf("after Ctrl-C: %d messages queued (%v), want none", stats.Total(), err)
	}
}
