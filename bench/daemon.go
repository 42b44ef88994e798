package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/outboxmail/outbox/internal/daemon"
)

// outboxd is `outbox serve` as the bench runs it: URL is the API's base
// URL, SMTP the submission listener's address ("" when this build of
// outbox serve has none).
type outboxd struct {
	*daemon.Process
	log *os.File // its stderr
}

// startDaemon runs bin with args (outbox serve), its SMTP listener on a
// free loopback port too, and waits until it listens. Its log goes to
// logPath.
func startDaemon(ctx context.Context, bin string, args []string, logPath string, env []string) (*outboxd, error) {
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	p, err := daemon.Start(ctx, daemon.Options{Bin: bin, Args: args, Env: env, Stderr: logf, Timeout: 60 * time.Second})
	if err != nil {
		logf.Close()
		return nil, fmt.Errorf("%w (log: %s)", err, logPath)
	}
	return &outboxd{Process: p, log: logf}, nil
}

// stop asks the daemon to shut down (SIGTERM) and waits, killing it after
// 40 s.
func (d *outboxd) stop() error {
	defer d.log.Close()
	if !d.Alive() {
		if err := d.Wait(); err != nil {
			return fmt.Errorf("outbox serve: %w", err)
		}
		return nil
	}
	return d.Stop(40 * time.Second)
}

// memory reads the daemon's current and peak resident set size, in
// bytes, from /proc.
func (d *outboxd) memory() (rss, peak int64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", d.PID()))
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

// cpu reads the CPU time (user and system) the daemon has used so far,
// from /proc/PID/stat, in clock ticks of 10 ms (Linux's USER_HZ).
func (d *outboxd) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", d.PID()))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces: count fields after it.
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, fmt.Errorf("cannot read /proc/%d/stat", d.PID())
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cannot read /proc/%d/stat", d.PID())
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// cpuSince returns the daemon's CPU time per message since a reading of
// cpu, in microseconds; 0 when either reading failed.
func (d *outboxd) cpuSince(start time.Duration, startErr error, messages int) float64 {
	end, err := d.cpu()
	if startErr != nil || err != nil {
		return 0
	}
	return perMessage(end-start, messages)
}

// resetPeak resets the kernel's peak RSS (VmHWM) of the daemon to its
// current RSS, so that the next reading is the peak of one phase. It
// reports whether the kernel allowed it.
func (d *outboxd) resetPeak() bool {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", d.PID()), []byte("5"), 0) == nil
}
