package daemon

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Lines of the daemon's log that Start reads: one "listening" line per
// listener with the address it bound (the SMTP server also logs the
// older "smtp listening" form, tls=false for plain SMTP), then
// "outbox started" once every listener is up.
var (
	listenLine  = regexp.MustCompile(`msg=listening service=(http|smtp|smtps) addr=(\S+)`)
	smtpLine    = regexp.MustCompile(`msg="smtp listening" addr=(\S+) tls=false`)
	startedLine = `msg="outbox started"`
)

// DefaultTimeout is how long Start waits for the daemon to start when
// Options.Timeout is zero.
const DefaultTimeout = 30 * time.Second

// Options says how to run the daemon.
type Options struct {
	// Bin is the program to run, usually what Build returned.
	Bin string
	// Args are its arguments, such as ServeArgs returns.
	Args []string
	// Env adds variables to the minimal environment (see Env), after
	// OUTBOX_SMTP_ADDR=127.0.0.1:0, which a later entry overrides (with
	// "off", say).
	Env []string
	// Stdout receives the process's standard output (the console
	// backend's); nil discards it.
	Stdout io.Writer
	// Stderr receives the process's standard error, its log. When nil,
	// the Process keeps it in memory: see Process.Stderr.
	Stderr io.Writer
	// Timeout bounds the wait for "outbox started"; zero means
	// DefaultTimeout.
	Timeout time.Duration
}

// Env returns the minimal environment the daemon and the outbox command
// run with: PATH and HOME of this process, then vars.
func Env(vars ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, vars...)
}

// ServeArgs returns the arguments of `outbox serve` with the HTTP API on
// a free loopback port, followed by args.
func ServeArgs(args ...string) []string {
	return append([]string{"serve", "--http-addr", "127.0.0.1:0"}, args...)
}

// Process is a running daemon.
type Process struct {
	// URL is the HTTP API's base URL ("http://127.0.0.1:port").
	URL string
	// SMTP and SMTPS are the addresses of the SMTP listeners, "" when
	// off.
	SMTP, SMTPS string

	cmd    *exec.Cmd
	stderr *Buffer // nil when Options.Stderr was set
	exited chan struct{}
	err    error // the exit status, set before exited closes
}

// Start runs the daemon and waits until it logs "outbox started",
// recording the addresses of the listeners it logged before. When it
// exits first, or does not start within the timeout or before ctx ends,
// Start returns an error (and kills it, if still running). ctx bounds
// the start only, not the process.
func Start(ctx context.Context, o Options) (*Process, error) {
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	cmd := exec.Command(o.Bin, o.Args...)
	cmd.Env = Env(append([]string{"OUTBOX_SMTP_ADDR=127.0.0.1:0"}, o.Env...)...)
	cmd.Stdout = o.Stdout
	p := &Process{cmd: cmd, exited: make(chan struct{})}
	stderr := o.Stderr
	if stderr == nil {
		p.stderr = &Buffer{}
		stderr = p.stderr
	}
	pr, pw := io.Pipe()
	cmd.Stderr = io.MultiWriter(stderr, pw)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		p.err = cmd.Wait()
		pw.Close()
		close(p.exited)
	}()
	ready := make(chan map[string]string, 1)
	go scanLog(pr, ready)

	timer := time.NewTimer(o.Timeout)
	defer timer.Stop()
	select {
	case addrs := <-ready:
		p.URL = "http://" + addrs["http"]
		p.SMTP, p.SMTPS = addrs["smtp"], addrs["smtps"]
		return p, nil
	case <-p.exited:
		return nil, p.startErr(fmt.Errorf("outbox serve exited before listening: %v", p.err))
	case <-timer.C:
		p.Kill()
		return nil, p.startErr(fmt.Errorf("outbox serve did not start within %v", o.Timeout))
	case <-ctx.Done():
		p.Kill()
		return nil, p.startErr(fmt.Errorf("outbox serve start: %w", ctx.Err()))
	}
}

// startErr adds the log to err when the Process kept it in memory, since
// Start returns no Process to read it from.
func (p *Process) startErr(err error) error {
	if p.stderr == nil {
		return err
	}
	return fmt.Errorf("%w\n%s", err, p.stderr)
}

// scanLog reads the daemon's log, sends the addresses of the listeners
// on ready once it has started, and then drains the rest.
func scanLog(r io.Reader, ready chan<- map[string]string) {
	addrs := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() && addrs != nil {
		l := sc.Text()
		if m := listenLine.FindStringSubmatch(l); m != nil {
			addrs[m[1]] = m[2]
		} else if m := smtpLine.FindStringSubmatch(l); m != nil && addrs["smtp"] == "" {
			addrs["smtp"] = m[1]
		}
		if strings.Contains(l, startedLine) {
			ready <- addrs
			addrs = nil
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// PID returns the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Stderr returns what the process has written to its standard error so
// far, or "" when Options.Stderr received it instead.
func (p *Process) Stderr() string {
	if p.stderr == nil {
		return ""
	}
	return p.stderr.String()
}

// Signal sends sig to the process.
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Alive reports whether the process is still running.
func (p *Process) Alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Wait waits for the process to exit and returns its exit status, as
// exec.Cmd.Wait does; it may be called any number of times.
func (p *Process) Wait() error {
	<-p.exited
	return p.err
}

// Kill sends SIGKILL, unless the process has exited, and waits for it to
// die. It may be called any number of times.
func (p *Process) Kill() {
	if p.Alive() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.exited
}

// Errors Stop wraps: the process had exited before it was asked to, or
// did not exit in time.
var (
	ErrExited      = errors.New("outbox serve had already exited")
	ErrStopTimeout = errors.New("outbox serve did not stop in time")
)

// Stop sends SIGTERM and waits up to timeout for the process to exit. It
// returns nil on a clean exit; an error when the exit status is not 0,
// when the process had already exited (wrapping ErrExited), or when it
// did not exit in time (wrapping ErrStopTimeout), in which case Stop
// kills it.
func (p *Process) Stop(timeout time.Duration) error {
	if !p.Alive() {
		return fmt.Errorf("%w: %v", ErrExited, p.err)
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.exited:
		if p.err != nil {
			return fmt.Errorf("outbox serve exited with %v after SIGTERM", p.err)
		}
		return nil
	case <-timer.C:
		p.Kill()
		return fmt.Errorf("%w: not within %v of SIGTERM; killed", ErrStopTimeout, timeout)
	}
}

// Buffer is a bytes.Buffer safe for concurrent use: a process writes to
// it while a test reads it.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// String returns what has been written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
