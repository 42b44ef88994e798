package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/outboxmail/outbox/outboxtest"
)

// TestServeDeliversOverSMTP boots `outbox serve` with a real SMTP sink as
// its backend, posts a message over HTTP and checks that the sink got the
// exact stored bytes and the status became sent.
func TestServeDeliversOverSMTP(t *testing.T) {
	sink := outboxtest.NewSink(t)
	d := startDaemon(t, t.TempDir(), "smtp://"+sink.Addr()+"?tls=none")

	var rc struct {
		ID        int64  `json:"id"`
		MessageID string `json:"message_id"`
		Status    string `json:"status"`
	}
	code, err := post(context.Background(), d.URL+"/v1/messages", map[string]any{
		"from":    "Helpdesk <help@example.com>",
		"to":      []string{"customer@example.net"},
		"bcc":     []string{"audit@example.com"},
		"subject": "Ticket #42 created",
		"text":    "We got your request.",
	}, &rc)
	if err != nil || code != 202 || rc.Status != "queued" || rc.ID == 0 {
		t.Fatalf("POST: %d %+v %v", code, rc, err)
	}
	got := sink.WaitFor(1, 15*time.Second)[0]
	raw := getBytes(t, fmt.Sprintf("%s/v1/messages/%d/raw", d.URL, rc.ID))
	if !bytes.Equal(got.Data, raw) {
		t.Errorf("sink received:\n%s\nstored:\n%s", got.Data, raw)
	}
	if messageID(got.Data) != rc.MessageID {
		t.Errorf("Message-ID %q, API said %q", messageID(got.Data), rc.MessageID)
	}
	if bytes.Contains(got.Data, []byte("audit@example.com")) {
		t.Error("the Bcc address appears in the delivered message")
	}
	if got.From != "help@example.com" || len(got.To) != 2 {
		t.Errorf("envelope %s → %v", got.From, got.To)
	}
	var rec struct {
		Status     string `json:"status"`
		Recipients []struct {
			Email  string `json:"email"`
			Status string `json:"status"`
		} `json:"recipients"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for rec.Status != "sent" && time.Now().Before(deadline) {
		getJSON(t, fmt.Sprintf("%s/v1/messages/%d", d.URL, rc.ID), &rec)
		time.Sleep(10 * time.Millisecond)
	}
	if rec.Status != "sent" || len(rec.Recipients) != 2 || rec.Recipients[0].Status != "sent" {
		t.Errorf("record %+v", rec)
	}
	d.Stop()
}

// TestServeRetriesUntilUpstreamReturns: the upstream is down at first; the
// message is deferred, and delivered once the upstream is back.
func TestServeRetriesUntilUpstreamReturns(t *testing.T) {
	sink := outboxtest.NewSink(t)
	sink.Stop()
	d := startDaemon(t, t.TempDir(), "smtp://"+sink.Addr()+"?tls=none&timeout=2s",
		"OUTBOX_RETRY_MIN_DELAY=200ms", "OUTBOX_RETRY_MAX_DELAY=400ms")
	var rc struct{ ID int64 }
	if code, err := post(context.Background(), d.URL+"/v1/messages", map[string]any{
		"from": "app@example.com", "to": []string{"a@example.net"}, "subject": "hi", "text": "hello",
	}, &rc); err != nil || code != 202 {
		t.Fatalf("POST: %d %v", code, err)
	}
	var rec struct {
		Status   string `json:"status"`
		Attempts int    `json:"attempts"`
	}
	deadline := time.Now().Add(10 * time.Second)
	for rec.Attempts < 2 && time.Now().Before(deadline) {
		getJSON(t, fmt.Sprintf("%s/v1/messages/%d", d.URL, rc.ID), &rec)
		time.Sleep(20 * time.Millisecond)
	}
	if rec.Status != "deferred" || rec.Attempts < 2 {
		t.Fatalf("with the upstream down: %+v, want deferred after 2+ attempts", rec)
	}
	sink.Start()
	sink.WaitFor(1, 15*time.Second)
	d.Stop()
}

// TestServeRefusesSecondInstance: the data dir is locked.
func TestServeRefusesSecondInstance(t *testing.T) {
	dir := t.TempDir()
	startDaemon(t, dir, "null:")
	out, err := runBinary(t, "serve", "--http-addr", "127.0.0.1:0", "--data-dir", dir)
	if err == nil || !bytes.Contains(out, []byte("in use by another outbox process")) {
		t.Errorf("second serve: err %v, output %s", err, out)
	}
}

// TestServeCPUProfile: --cpuprofile writes a profile once serve stops.
func TestServeCPUProfile(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "cpu.prof")
	d := startServe(t, []string{"--data-dir", filepath.Join(dir, "data"), "--backend", "null:", "--cpuprofile", prof})
	d.Stop()
	info, err := os.Stat(prof)
	if err != nil || info.Size() == 0 {
		t.Fatalf("profile %v, %v: want a non-empty file", info, err)
	}
}

// TestServeGOMAXPROCS: serve runs twice the runtime's default number of
// schedulers, or what GOMAXPROCS says; the start-up log shows it.
func TestServeGOMAXPROCS(t *testing.T) {
	started := func(env ...string) string {
		d := startServe(t, []string{"--data-dir", t.TempDir(), "--backend", "null:"}, env...)
		d.Stop()
		for line := range strings.Lines(d.Stderr()) {
			if strings.Contains(line, "outbox started") {
				return line
			}
		}
		t.Fatalf("no start-up line in the log:\n%s", d.Stderr())
		return ""
	}
	// The daemon runs with a minimal environment: without GOMAXPROCS, its
	// runtime's default is this process's unless GOMAXPROCS set ours.
	if os.Getenv("GOMAXPROCS") == "" {
		want := fmt.Sprintf("gomaxprocs=%d", 2*runtime.GOMAXPROCS(0))
		if line := started(); !strings.Contains(line, want) {
			t.Errorf("without GOMAXPROCS: want %s in %q", want, line)
		}
	}
	if line := started("GOMAXPROCS=3"); !strings.Contains(line, "gomaxprocs=3") {
		t.Errorf("with GOMAXPROCS=3: want gomaxprocs=3 in %q", line)
	}
}
