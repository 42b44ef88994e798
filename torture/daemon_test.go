package torture

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Listening lines of `outbox serve`: the HTTP API's, and the SMTP
// listener's in either form it may log.
var (
	httpLine = regexp.MustCompile(`msg=listening service=http addr=(\S+)`)
	smtpLine = regexp.MustCompile(`msg=listening service=smtp addr=(\S+)|msg="smtp listening" addr=(\S+)`)
)

// startedLine is logged once the daemon is up.
const startedLine = `msg="outbox started"`

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

// daemon is a running `outbox serve`.
type daemon struct {
	t      *testing.T
	cmd    *exec.Cmd
	opts   daemonOpts
	exited chan struct{}
	err    error // the exit status, set before exited closes
	// URL is the HTTP API's base URL; SMTP the submission listener's
	// address, "" when this build has no SMTP listener.
	URL  string
	SMTP string
}

// startDaemon runs outbox serve and waits until it listens. It is killed
// when the test ends, if still running.
func (s *suite) startDaemon(t *testing.T, o daemonOpts) *daemon {
	t.Helper()
	if o.log == "" {
		o.log = filepath.Join(t.TempDir(), "outbox.log")
	}
	args := []string{"serve", "--http-addr", "127.0.0.1:0", "--data-dir", o.dataDir, "--backend", o.backend}
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
	cmd := exec.Command(s.bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "OUTBOX_SMTP_ADDR=127.0.0.1:0"}, o.env...)
	cmd.Stdout = io.Discard
	pr, pw := io.Pipe()
	cmd.Stderr = io.MultiWriter(logf, pw)
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	d := &daemon{t: t, cmd: cmd, opts: o, exited: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		pw.Close()
		logf.Close()
		close(d.exited)
	}()
	t.Cleanup(d.Kill)

	type found struct{ http, smtp string }
	lines := make(chan found, 16)
	started := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		var once sync.Once
		for sc.Scan() {
			l := sc.Text()
			if m := httpLine.FindStringSubmatch(l); m != nil {
				lines <- found{http: m[1]}
			}
			if m := smtpLine.FindStringSubmatch(l); m != nil {
				lines <- found{smtp: m[1] + m[2]}
			}
			if strings.Contains(l, startedLine) {
				once.Do(func() { close(started) })
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	timeout := time.After(30 * time.Second)
	var grace <-chan time.Time
	for d.URL == "" || d.SMTP == "" {
		select {
		case f := <-lines:
			if f.http != "" {
				d.URL = "http://" + f.http
				if grace == nil {
					grace = time.After(5 * time.Second)
				}
			}
			if f.smtp != "" {
				d.SMTP = f.smtp
			}
		case <-started:
			started, grace = nil, time.After(time.Second)
		case <-grace:
			if d.URL != "" {
				return d
			}
		case <-d.exited:
			t.Fatalf("outbox serve exited before listening: %v\n%s", d.err, d.logTail())
		case <-timeout:
			d.Kill()
			t.Fatalf("outbox serve did not listen within 30s\n%s", d.logTail())
		}
	}
	return d
}

// Alive reports whether the process is still running.
func (d *daemon) Alive() bool {
	select {
	case <-d.exited:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL and waits for the process to die.
func (d *daemon) Kill() {
	if d.Alive() {
		_ = d.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-d.exited
}

// Stop sends SIGTERM and waits for a clean exit.
func (d *daemon) Stop() {
	d.t.Helper()
	if !d.Alive() {
		d.t.Errorf("outbox serve had already exited: %v\n%s", d.err, d.logTail())
		return
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
		if d.err != nil {
			d.t.Errorf("outbox serve exited with %v after SIGTERM\n%s", d.err, d.logTail())
		}
	case <-time.After(40 * time.Second):
		d.Kill()
		d.t.Errorf("outbox serve did not stop within 40s of SIGTERM\n%s", d.logTail())
	}
}

// logTail returns the last lines of the daemon's log.
func (d *daemon) logTail() string {
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
func (d *daemon) logContains(s string) bool {
	b, _ := os.ReadFile(d.opts.log)
	return strings.Contains(string(b), s)
}
