package main

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/smtp"
	"net/textproto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// requireTool skips the test when a program it runs is missing, except
// in CI (CI=true), where the test fails instead: there, a missing tool is
// a broken setup, not a reason to test less.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is not installed, and CI=true: install it (the CI script does)", name)
	}
	t.Skipf("%s is not installed: skipping this test of a real client (in CI it fails instead)", name)
	return ""
}

// writeConfig writes a TOML config file and returns the environment
// variable that names it.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	return "OUTBOX_CONFIG=" + writeFile(t, "outbox.toml", content)
}

// usersConfig configures the user "app" with password "secret".
const usersConfig = `
[[smtp_users]]
name = "app"
password_hash = "` + testHash + `"
`

// devCertPool returns a pool that trusts the development certificate of
// the data directory dir.
func devCertPool(t *testing.T, dir string) (*x509.CertPool, string) {
	t.Helper()
	path := filepath.Join(dir, "tls", "dev-cert.pem")
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("development certificate: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatalf("%s holds no certificate", path)
	}
	return pool, path
}

// trustingTLS is a client TLS configuration that verifies the server
// against the data directory's development certificate.
func trustingTLS(t *testing.T, dir string) *tls.Config {
	pool, _ := devCertPool(t, dir)
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// dialSMTP connects to addr and says EHLO.
func dialSMTP(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.example.com"); err != nil {
		t.Fatal(err)
	}
	return c
}

// replyCode returns the SMTP code of err, or 0 when err is not a reply.
func replyCode(err error) int {
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code
	}
	return 0
}

// wantCode fails unless err is the SMTP reply code.
func wantCode(t *testing.T, what string, err error, code int) {
	t.Helper()
	if got := replyCode(err); got != code {
		t.Errorf("%s: %v (code %d), want %d", what, err, got, code)
	}
}

// cmd sends a raw command and returns its reply code and text.
func cmd(t *testing.T, c *smtp.Client, format string, args ...any) (int, string) {
	t.Helper()
	id, err := c.Text.Cmd(format, args...)
	if err != nil {
		t.Fatal(err)
	}
	c.Text.StartResponse(id)
	defer c.Text.EndResponse(id)
	code, msg, err := c.Text.ReadResponse(0)
	if err != nil && replyCode(err) == 0 {
		t.Fatal(err)
	}
	return code, msg
}

var queuedAs = regexp.MustCompile(`queued as (\d+)`)

// queueID parses "queued as N" out of a reply or a transcript.
func queueID(t *testing.T, s string) int64 {
	t.Helper()
	m := queuedAs.FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no \"queued as N\" in %q", s)
	}
	id, _ := strconv.ParseInt(m[1], 10, 64)
	return id
}

// sendData sends a whole transaction and returns the text of the reply
// to the end of DATA (net/smtp's own Data writer would discard it).
func sendData(c *smtp.Client, from string, to []string, data string) (string, error) {
	if err := c.Mail(from); err != nil {
		return "", err
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return "", err
		}
	}
	w, err := startData(c)
	if err != nil {
		return "", err
	}
	if _, err := w.Write([]byte(data)); err != nil {
		return "", err
	}
	return endData(c, w)
}

// startData sends DATA and returns the writer of the message.
func startData(c *smtp.Client) (io.WriteCloser, error) {
	id, err := c.Text.Cmd("DATA")
	if err != nil {
		return nil, err
	}
	c.Text.StartResponse(id)
	_, _, err = c.Text.ReadResponse(354)
	c.Text.EndResponse(id)
	if err != nil {
		return nil, err
	}
	return c.Text.DotWriter(), nil
}

// endData ends the message written to w and returns the reply's text.
func endData(c *smtp.Client, w io.WriteCloser) (string, error) {
	if err := w.Close(); err != nil {
		return "", err
	}
	_, msg, err := c.Text.ReadResponse(250)
	return msg, err
}

// apiRecord is the part of GET /v1/messages/{id} the tests check.
type apiRecord struct {
	Backend    string   `json:"backend"`
	ID         int64    `json:"id"`
	MessageID  string   `json:"message_id"`
	Status     string   `json:"status"`
	Tags       []string `json:"tags"`
	Recipients []struct {
		Email  string `json:"email"`
		Status string `json:"status"`
	} `json:"recipients"`
}

// record fetches a message from the API.
func record(t *testing.T, base string, id int64) apiRecord {
	t.Helper()
	var rec apiRecord
	if code := getJSON(t, fmt.Sprintf("%s/v1/messages/%d", base, id), &rec); code != 200 {
		t.Fatalf("GET message %d: status %d", id, code)
	}
	return rec
}

// waitStatus polls the API until message id has status, or fails.
func waitStatus(t *testing.T, base string, id int64, status string) apiRecord {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		rec := record(t, base, id)
		if rec.Status == status {
			return rec
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %d: status %s after 15s, want %s", id, rec.Status, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
