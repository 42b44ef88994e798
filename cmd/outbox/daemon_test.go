package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outboxmail/outbox/internal/daemon"
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
		binPath, buildErr = daemon.Build(context.Background(), dir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// served is a running `outbox serve`: URL, SMTP and SMTPS are its
// addresses, Stderr() its log.
type served struct {
	*daemon.Process
	t *testing.T
	// stdout is what the process printed (the console backend's output).
	stdout *daemon.Buffer
}

// startDaemon runs `outbox serve` on :0 HTTP and SMTP ports with the
// given data dir and backend, and waits until every listener is up. The
// environment holds only what the process needs, plus env (which may
// override OUTBOX_SMTP_ADDR, e.g. with "off").
func startDaemon(t *testing.T, dataDir, backendURL string, env ...string) *served {
	t.Helper()
	return startServe(t, []string{"--data-dir", dataDir, "--backend", backendURL}, env...)
}

// startServe runs `outbox serve` with args on a :0 HTTP port (and :0
// SMTP unless env says otherwise) and waits until every listener is up.
// The process is killed when the test ends, if still running.
func startServe(t *testing.T, args []string, env ...string) *served {
	t.Helper()
	d := &served{t: t, stdout: &daemon.Buffer{}}
	p, err := daemon.Start(t.Context(), daemon.Options{
		Bin:    outboxBinary(t),
		Args:   daemon.ServeArgs(args...),
		Env:    env,
		Stdout: d.stdout,
	})
	if err != nil {
		t.Fatal(err)
	}
	d.Process = p
	t.Cleanup(p.Kill)
	return d
}

// Stop sends SIGTERM and waits for a clean exit.
func (d *served) Stop() {
	d.t.Helper()
	err := d.Process.Stop(40 * time.Second)
	switch {
	case errors.Is(err, daemon.ErrStopTimeout):
		d.t.Fatalf("%v\n%s", err, d.Stderr())
	case err != nil:
		d.t.Errorf("%v\n%s", err, d.Stderr())
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
	cmd.Env = daemon.Env()
	return cmd.CombinedOutput()
}
