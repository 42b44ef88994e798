package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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

// The tests in this file boot the real `outbox serve` binary as a
// subprocess, as a user would run it.

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// outboxBinary builds ./cmd/outbox once per test run.
func outboxBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "outbox-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "outbox")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// daemon is a running `outbox serve`.
type daemon struct {
	t   *testing.T
	cmd *exec.Cmd
	URL string
	// SMTP and SMTPS are the addresses of the SMTP listeners, "" when off.
	SMTP, SMTPS string
	// stdout is what the process printed (the console backend's output).
	stdout *lockedBuffer
	stderr *lockedBuffer
	exited chan error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var (
	listenLine  = regexp.MustCompile(`msg=listening service=(http|smtp|smtps) addr=(\S+)`)
	startedLine = `msg="outbox started"`
)

// startDaemon runs `outbox serve` on :0 HTTP and SMTP ports with the
// given data dir and backend, and waits until every listener is up. The
// environment holds only what the process needs, plus env (which may
// override OUTBOX_SMTP_ADDR, e.g. with "off").
func startDaemon(t *testing.T, dataDir, backendURL string, env ...string) *daemon {
	t.Helper()
	return startServe(t, []string{"--data-dir", dataDir, "--backend", backendURL}, env...)
}

// startServe runs `outbox serve` with args on a :0 HTTP port (and :0
// SMTP unless env says otherwise) and waits until every listener is up.
func startServe(t *testing.T, args []string, env ...string) *daemon {
	t.Helper()
	cmd := exec.Command(outboxBinary(t), append([]string{"serve", "--http-addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "OUTBOX_SMTP_ADDR=127.0.0.1:0"}, env...)
	d := &daemon{t: t, cmd: cmd, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan error, 1)}
	pr, pw := io.Pipe()
	cmd.Stderr = io.MultiWriter(d.stderr, pw)
	cmd.Stdout = d.stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.exited <- cmd.Wait(); pw.Close() }()
	ready := make(chan map[string]string, 1)
	go func() {
		addrs := map[string]string{}
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			if m := listenLine.FindStringSubmatch(sc.Text()); m != nil {
				addrs[m[1]] = m[2]
			}
			if strings.Contains(sc.Text(), startedLine) && addrs != nil {
				ready <- addrs
				addrs = nil
			}
		}
	}()
	select {
	case addrs := <-ready:
		d.URL = "http://" + addrs["http"]
		d.SMTP, d.SMTPS = addrs["smtp"], addrs["smtps"]
	case err := <-d.exited:
		t.Fatalf("outbox serve exited before listening: %v\n%s", err, d.stderr)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("outbox serve did not start within 30s\n%s", d.stderr)
	}
	t.Cleanup(func() { d.Kill() })
	return d
}

// Kill sends SIGKILL and waits for the process to die.
func (d *daemon) Kill() {
	if d.cmd.ProcessState != nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGKILL)
	<-d.exited
	d.exited <- nil
}

// Stop sends SIGTERM and waits for a clean exit.
func (d *daemon) Stop() {
	d.t.Helper()
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-d.exited:
		d.exited <- err
		if err != nil {
			d.t.Errorf("outbox serve exited with %v after SIGTERM\n%s", err, d.stderr)
		}
	case <-time.After(40 * time.Second):
		d.t.Fatalf("outbox serve did not stop within 40s of SIGTERM\n%s", d.stderr)
	}
}

// post sends a JSON body and decodes the JSON answer.
func post(ctx context.Context, url string, body any, out any) (int, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(b))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, err
		}
	}
	return resp.StatusCode, nil
}

func getJSON(t *testing.T, url string, out any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode
}

func getBytes(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return b
}

// messageID returns the Message-ID header of raw, or "".
func messageID(raw []byte) string {
	for _, line := range strings.Split(string(raw), "\r\n") {
		if line == "" {
			break
		}
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Message-ID") {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// runBinary runs the outbox binary to completion with a minimal
// environment and returns its combined output.
func runBinary(t *testing.T, args ...string) ([]byte, error) {
	t.Helper()
	cmd := exec.Command(outboxBinary(t), args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	return cmd.CombinedOutput()
}
