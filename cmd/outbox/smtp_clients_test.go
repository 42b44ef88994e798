package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/outboxmail/outbox/outboxtest"
)

// These tests submit mail to `outbox serve` with SMTP clients the project
// did not write, as an application would: Python's smtplib, swaks and
// curl. Each logs in over STARTTLS, trusting the development certificate
// the server generated in its data directory.

// smtpDaemon boots outbox serve with the user "app" (password "secret"),
// delivering to a new sink, with the host name mx.outbox.test.
func smtpDaemon(t *testing.T, extraConfig string) (*served, *outboxtest.Sink, string) {
	t.Helper()
	sink := outboxtest.NewSink(t)
	dir := t.TempDir()
	d := startDaemon(t, dir, "smtp://"+sink.Addr()+"?tls=none",
		writeConfig(t, extraConfig+usersConfig), "OUTBOX_HOSTNAME=mx.outbox.test")
	return d, sink, dir
}

// checkSubmitted checks a message a client submitted with DATA, whose
// reply named queue id id: the sink received exactly the stored bytes;
// they are the bytes the client sent with a Received field on top and
// without the control fields; the API knows the id by the Message-ID the
// client gave, with the tags of X-Outbox-Tags; it was sent.
func checkSubmitted(t *testing.T, d *served, sink *outboxtest.Sink, id int64, sent []byte, protocol string, tags []string) {
	t.Helper()
	got := sink.WaitFor(1, 15*time.Second)[0]
	stored := getBytes(t, fmt.Sprintf("%s/v1/messages/%d/raw", d.URL, id))
	if !bytes.Equal(got.Data, stored) {
		t.Errorf("the sink received\n%q\nthe API stores\n%q", got.Data, stored)
	}
	if !bytes.HasPrefix(stored, []byte("Received: from ")) || !bytes.Contains(stored, []byte("by mx.outbox.test (Outbox) with "+protocol+" id ")) {
		t.Errorf("stored message does not start with a Received field naming mx.outbox.test and %s:\n%s", protocol, stored)
	}
	want := removeHeader(sent, "X-Outbox-Tags")
	if bytes.Equal(want, sent) {
		t.Fatal("the test message has no X-Outbox-Tags field")
	}
	if gotBody := removeHeader(stored, "Received"); !bytes.Equal(gotBody, want) {
		t.Errorf("delivered, without Received:\n%q\nsent, without control fields:\n%q", gotBody, want)
	}
	rec := waitStatus(t, d.URL, id, "sent")
	if rec.MessageID != messageID(sent) || rec.MessageID == "" {
		t.Errorf("API message %d has Message-ID %q, the client sent %q", id, rec.MessageID, messageID(sent))
	}
	if !slices.Equal(rec.Tags, tags) {
		t.Errorf("tags %q, want %q", rec.Tags, tags)
	}
}

func TestSMTPPythonSmtplib(t *testing.T) {
	python := requireTool(t, "python3")
	d, sink, dir := smtpDaemon(t, "")
	_, cafile := devCertPool(t, dir)
	out, err := exec.Command(python, filepath.Join("testdata", "smtplib_submit.py"), "127.0.0.1", port(d.SMTP), cafile, "app", "secret").Output()
	if err != nil {
		t.Fatalf("smtplib: %v\n%s", err, stderrOf(err))
	}
	var res struct {
		Code  int    `json:"code"`
		Reply string `json:"reply"`
		Sent  string `json:"sent"`
	}
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("smtplib printed %q: %v", out, err)
	}
	sent, err := base64.StdEncoding.DecodeString(res.Sent)
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != 250 || !strings.HasPrefix(res.Reply, "2.0.0 queued as ") {
		t.Fatalf("reply to DATA: %d %s", res.Code, res.Reply)
	}
	checkSubmitted(t, d, sink, queueID(t, res.Reply), sent, "ESMTPSA", []string{"python", "helpdesk"})
	if got := sink.Messages()[0]; got.From != "help@example.com" || !slices.Equal(got.To, []string{"customer@example.net"}) {
		t.Errorf("envelope %s → %v", got.From, got.To)
	}
	d.Stop()
}

// clientMessage is the message swaks and curl send: CRLF line endings, a
// body line that starts with a dot, a control field.
func clientMessage(client string) []byte {
	return []byte("From: Helpdesk <help@example.com>\r\n" +
		"To: customer@example.net\r\n" +
		"Subject: submitted with " + client + "\r\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 +0000\r\n" +
		"Message-ID: <" + client + "-1@app.example.com>\r\n" +
		"X-Outbox-Tags: " + client + "\r\n" +
		"\r\n" +
		"Hello from " + client + ".\r\n" +
		".a line that starts with a dot\r\n" +
		"\r\n" +
		"-- \r\nHelpdesk\r\n")
}

func TestSMTPSwaks(t *testing.T) {
	swaks := requireTool(t, "swaks")
	d, sink, dir := smtpDaemon(t, "")
	_, cafile := devCertPool(t, dir)
	msg := clientMessage("swaks")
	file := filepath.Join(t.TempDir(), "message.eml")
	// swaks ends the data it is given with "\r\n.": without the final
	// CRLF here, what it sends is msg exactly.
	if err := os.WriteFile(file, bytes.TrimSuffix(msg, []byte("\r\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(swaks, "--server", "127.0.0.1", "--port", port(d.SMTP),
		"--tls", "--tls-verify", "--tls-ca-path", cafile,
		"--auth", "LOGIN", "--auth-user", "app", "--auth-password", "secret",
		"--from", "help@example.com", "--to", "customer@example.net", "--data", "@"+file).CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	// swaks prints the transcript; "<~" marks a reply received over TLS.
	var reply string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "<~  250 2.0.0 queued as ") {
			reply = line
		}
	}
	if reply == "" {
		t.Fatalf("no \"250 2.0.0 queued as\" reply over TLS in the transcript:\n%s", out)
	}
	checkSubmitted(t, d, sink, queueID(t, reply), msg, "ESMTPSA", []string{"swaks"})
	d.Stop()
}

func TestSMTPCurl(t *testing.T) {
	curl := requireTool(t, "curl")
	d, sink, dir := smtpDaemon(t, "")
	_, cafile := devCertPool(t, dir)
	msg := clientMessage("curl")
	file := filepath.Join(t.TempDir(), "message.eml")
	if err := os.WriteFile(file, msg, 0o600); err != nil {
		t.Fatal(err)
	}
	// --ssl-reqd: STARTTLS or nothing; --cacert: trust the development
	// certificate alone. -v prints the server's replies ("< 250 ...").
	out, err := exec.Command(curl, "-sS", "-v", "--url", "smtp://"+d.SMTP,
		"--ssl-reqd", "--cacert", cafile, "--user", "app:secret",
		"--mail-from", "help@example.com", "--mail-rcpt", "customer@example.net",
		"--upload-file", file).CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v\n%s", err, out)
	}
	var reply string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "< 250 2.0.0 queued as ") {
			reply = line
		}
	}
	if reply == "" {
		t.Fatalf("no \"250 2.0.0 queued as\" reply in curl's transcript:\n%s", out)
	}
	checkSubmitted(t, d, sink, queueID(t, reply), msg, "ESMTPSA", []string{"curl"})
	d.Stop()
}

// port returns the port of a "host:port" address.
func port(addr string) string {
	return addr[strings.LastIndexByte(addr, ':')+1:]
}

// stderrOf returns what a failed command wrote on standard error.
func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}
