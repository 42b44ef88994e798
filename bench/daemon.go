package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// outboxPkg is the package bench builds and runs.
const outboxPkg = "github.com/outboxmail/outbox/cmd/outbox"

// Listening lines of `outbox serve`: the HTTP API's, and the SMTP
// listener's in either of the forms it may log.
var (
	httpLine = regexp.MustCompile(`msg=listening service=http addr=(\S+)`)
	smtpLine = regexp.MustCompile(`msg=listening service=smtp addr=(\S+)|msg="smtp listening" addr=(\S+)`)
)

// startedLine is logged once every listener is up.
const startedLine = `msg="outbox started"`

// buildOutbox builds the outbox binary into dir.
func buildOutbox(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "outbox")
	out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, outboxPkg).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", outboxPkg, err, out)
	}
	return bin, nil
}

// daemon is a running `outbox serve`.
type daemon struct {
	cmd    *exec.Cmd
	log    *os.File // its stderr
	exited chan struct{}
	err    error // set before exited closes
	// HTTP is the API's base URL; SMTP the submission listener's address,
	// "" when this build of outbox serve has none.
	HTTP string
	SMTP string
}

// serveArgs are the arguments of `outbox serve` on free loopback ports
// with the given data dir and backend.
func serveArgs(dataDir, backendURL string) []string {
	return []string{"serve", "--http-addr", "127.0.0.1:0", "--data-dir", dataDir, "--backend", backendURL}
}

// startDaemon runs bin with args (outbox serve, or the profiled server),
// its SMTP listener on a free loopback port too, and waits until it
// listens. Its log goes to logPath.
func startDaemon(bin string, args []string, logPath string, env []string) (*daemon, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "OUTBOX_SMTP_ADDR=127.0.0.1:0"}, env...)
	cmd.Stdout = io.Discard
	pr, pw := io.Pipe()
	cmd.Stderr = io.MultiWriter(logf, pw)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	d := &daemon{cmd: cmd, log: logf, exited: make(chan struct{})}
	go func() {
		d.err = cmd.Wait()
		pw.Close()
		close(d.exited)
	}()

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
	timeout := time.After(60 * time.Second)
	var grace <-chan time.Time
	for d.HTTP == "" || d.SMTP == "" {
		select {
		case f := <-lines:
			if f.http != "" {
				d.HTTP = "http://" + f.http
				if grace == nil {
					grace = time.After(5 * time.Second)
				}
			}
			if f.smtp != "" {
				d.SMTP = f.smtp
			}
		case <-started:
			// The SMTP listener may be logged just after; give it a
			// moment, then go on without it.
			started = nil
			grace = time.After(time.Second)
		case <-grace:
			if d.HTTP != "" {
				return d, nil
			}
		case <-d.exited:
			return nil, fmt.Errorf("outbox serve exited before listening: %v (log: %s)", d.err, logPath)
		case <-timeout:
			d.kill()
			return nil, fmt.Errorf("outbox serve did not listen within 60s (log: %s)", logPath)
		}
	}
	return d, nil
}

// pid is the process id.
func (d *daemon) pid() int { return d.cmd.Process.Pid }

// alive reports whether the process is still running.
func (d *daemon) alive() bool {
	select {
	case <-d.exited:
		return false
	default:
		return true
	}
}

// stop asks the daemon to shut down (SIGTERM) and waits, killing it after
// 40 s.
func (d *daemon) stop() error {
	defer d.log.Close()
	if !d.alive() {
		return d.err
	}
	_ = d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
		return d.err
	case <-time.After(40 * time.Second):
		d.kill()
		return errors.New("outbox serve did not stop within 40s of SIGTERM; killed")
	}
}

// kill ends the daemon with SIGKILL.
func (d *daemon) kill() {
	_ = d.cmd.Process.Kill()
	<-d.exited
}

// memory reads the daemon's current and peak resident set size, in
// bytes, from /proc.
func (d *daemon) memory() (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.pid()))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			continue
		}
		n, _ := strconv.ParseInt(f[0], 10, 64)
		switch name {
		case "VmRSS":
			rss = n << 10
		case "VmHWM":
			peak = n << 10
		}
	}
	return rss, peak, nil
}

// resetPeak resets the kernel's peak RSS (VmHWM) of the daemon to its
// current RSS, so that the next reading is the peak of one phase. It
// reports whether the kernel allowed it.
func (d *daemon) resetPeak() bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", d.pid()), []byte("5"), 0) == nil
}
