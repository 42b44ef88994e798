package daemon

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// fake starts a shell that logs script's lines on stderr and then waits.
func fake(t *testing.T, script string, timeout time.Duration) (*Process, error) {
	t.Helper()
	p, err := Start(t.Context(), Options{Bin: "sh", Args: []string{"-c", script}, Timeout: timeout})
	if p != nil {
		t.Cleanup(p.Kill)
	}
	return p, err
}

func TestStartReadsAddresses(t *testing.T) {
	p, err := fake(t, `
echo 'level=INFO msg=listening service=smtp addr=127.0.0.1:2525' >&2
echo 'level=INFO msg=listening service=smtps addr=127.0.0.1:4465' >&2
echo 'level=INFO msg="smtp listening" addr=127.0.0.1:4465 tls=true' >&2
echo 'level=INFO msg=listening service=http addr=127.0.0.1:8080' >&2
echo 'level=INFO msg="outbox started" data_dir=x' >&2
echo 'level=INFO msg=listening service=http addr=127.0.0.1:9999' >&2
exec sleep 30`, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if p.URL != "http://127.0.0.1:8080" || p.SMTP != "127.0.0.1:2525" || p.SMTPS != "127.0.0.1:4465" {
		t.Errorf("URL %q SMTP %q SMTPS %q", p.URL, p.SMTP, p.SMTPS)
	}
	if !strings.Contains(p.Stderr(), "outbox started") {
		t.Errorf("Stderr() = %q", p.Stderr())
	}
	if err := p.Stop(10 * time.Second); err == nil || errors.Is(err, ErrStopTimeout) {
		t.Errorf("Stop of a process that dies of SIGTERM: %v, want its exit status", err)
	}
	if err := p.Stop(time.Second); !errors.Is(err, ErrExited) {
		t.Errorf("second Stop: %v, want ErrExited", err)
	}
	p.Kill() // after exit: returns at once
}

func TestStartOlderSMTPLine(t *testing.T) {
	p, err := fake(t, `
echo 'level=INFO msg="smtp listening" addr=127.0.0.1:2525 tls=false' >&2
echo 'level=INFO msg=listening service=http addr=127.0.0.1:8080' >&2
echo 'level=INFO msg="outbox started"' >&2
exec sleep 30`, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if p.SMTP != "127.0.0.1:2525" || p.SMTPS != "" {
		t.Errorf("SMTP %q SMTPS %q", p.SMTP, p.SMTPS)
	}
}

func TestStartFailures(t *testing.T) {
	_, err := fake(t, `echo 'level=ERROR msg="bad config"' >&2; exit 2`, 10*time.Second)
	if err == nil || !strings.Contains(err.Error(), "exited before listening") || !strings.Contains(err.Error(), "bad config") {
		t.Errorf("exit before start: %v, want the exit and the log", err)
	}
	_, err = fake(t, `echo 'level=INFO msg=listening service=http addr=127.0.0.1:8080' >&2; exec sleep 30`, 200*time.Millisecond)
	if err == nil || !strings.Contains(err.Error(), "did not start within 200ms") {
		t.Errorf("no start line: %v", err)
	}
}

func TestEnv(t *testing.T) {
	t.Setenv("PATH", "/bin")
	t.Setenv("HOME", "/home/x")
	t.Setenv("OUTBOX_TOKEN", "leaked")
	got := strings.Join(Env("A=1"), " ")
	if got != "PATH=/bin HOME=/home/x A=1" {
		t.Errorf("Env = %q", got)
	}
}

func TestModuleLine(t *testing.T) {
	for in, want := range map[string]string{
		"module github.com/outboxmail/outbox\n\ngo 1.26\n": modulePath,
		"// comment\nmodule \"example.com/x\"\n":           "example.com/x",
		"go 1.26\n":                                        "",
	} {
		if got := moduleLine([]byte(in)); got != want {
			t.Errorf("moduleLine(%q) = %q, want %q", in, got, want)
		}
	}
}
