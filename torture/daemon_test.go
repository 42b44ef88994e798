package torture

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/outboxmail/outbox/internal/daemon"
)

// daemonOpts says how to run `outbox serve`.
type daemonOpts struct {
	dataDir string
	backend string
	// env adds OUTBOX_* variables; OUTBOX_SMTP_ADDR=127.0.0.1:0 is always
	// set, so a build with the SMTP listener listens on a free port.
	env []string
	// config, when not empty, is written to a TOML file given with
	// --config (for settings no variable sets, such as delivery.lease).
	config string
	// log is the file the daemon's stderr is appended to, across
	// restarts.
	log string
}

// served is a running `outbox serve`: URL is the HTTP API's base URL,
// SMTP the submission listener's address ("" when this build has none).
type served struct {
	*daemon.Process
	t    *testing.T
	opts daemonOpts
}

// startDaemon runs outbox serve and waits until it listens. It is killed
// when the test ends, if still running.
func (s *suite) startDaemon(t *testing.T, o daemonOpts) *served {
	t.Helper()
	if o.log == "" {
		o.log = filepath.Join(t.TempDir(), "outbox.log")
	}
	args := []string{"--data-dir", o.dataDir, "--backend", o.backend}
	if o.config != "" {
		path := filepath.Join(t.TempDir(), "outbox.toml")
		if err := os.WriteFile(path, []byte(o.config), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", path)
	}
	logf, err := os.OpenFile(o.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	d := &served{t: t, opts: o}
	p, err := daemon.Start(t.Context(), daemon.Options{
		Bin:    s.bin,
		Args:   daemon.ServeArgs(args...),
		Env:    o.env,
		Stderr: logf,
	})
	if err != nil {
		logf.Close()
		t.Fatalf("%v\n%s", err, d.logTail())
	}
	go func() { <-p.Exited(); logf.Close() }()
	d.Process = p
	t.Cleanup(p.Kill)
	return d
}

// Stop sends SIGTERM and waits for a clean exit.
func (d *served) Stop() {
	d.t.Helper()
	if err := d.Process.Stop(40 * time.Second); err != nil {
		d.t.Errorf("%v\n%s", err, d.logTail())
	}
}

// logTail returns the last lines of the daemon's log.
func (d *served) logTail() string {
	b, err := os.ReadFile(d.opts.log)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > 40 {
		lines = append([]string{"…"}, lines[len(lines)-40:]...)
	}
	return "outbox serve log:\n" + strings.Join(lines, "\n")
}

// logContains reports whether the daemon's log has a line containing s.
func (d *served) logContains(s string) bool {
	b, _ := os.ReadFile(d.opts.log)
	return strings.Contains(string(b), s)
}
