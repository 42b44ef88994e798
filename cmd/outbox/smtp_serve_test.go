package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/smtp"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/outboxmail/outbox/outboxtest"
)

// TestSMTPNeverAnOpenRelay: with trusted networks that leave loopback
// out and AUTH required to come after TLS on loopback too, a client must
// upgrade, then log in, before it may send.
func TestSMTPNeverAnOpenRelay(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir, "null:", writeConfig(t, `
smtp_trusted_networks = ["10.0.0.0/8"]
smtp_require_tls_for_auth = true

[[smtp_users]]
name = "app"
password_hash = "`+testHash+`"
allowed_from = ["example.com"]
`))

	c := dialSMTP(t, d.SMTP)
	if ok, _ := c.Extension("AUTH"); ok {
		t.Error("AUTH offered before STARTTLS")
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("STARTTLS not offered")
	}
	wantCode(t, "MAIL FROM without AUTH", c.Mail("app@example.com"), 530)
	code, msg := cmd(t, c, "AUTH PLAIN %s", "AGFwcABzZWNyZXQ=") // \0app\0secret
	if code != 538 {
		t.Errorf("AUTH before STARTTLS: %d %s, want 538 (encryption required)", code, msg)
	}

	if err := c.StartTLS(trustingTLS(t, dir)); err != nil {
		t.Fatalf("STARTTLS with the development certificate trusted: %v", err)
	}
	if ok, mechs := c.Extension("AUTH"); !ok || !strings.Contains(mechs, "PLAIN") || !strings.Contains(mechs, "LOGIN") {
		t.Errorf("after STARTTLS, AUTH %v %q, want PLAIN and LOGIN", ok, mechs)
	}
	wantCode(t, "MAIL FROM over TLS without AUTH", c.Mail("app@example.com"), 530)
	// Raw commands: net/smtp's Auth hangs up after a failure.
	for _, bad := range []struct{ what, user, password string }{
		{"a wrong password", "app", "wrong"},
		{"an unknown user", "root", "secret"},
	} {
		plain := base64.StdEncoding.EncodeToString([]byte("\x00" + bad.user + "\x00" + bad.password))
		if code, msg := cmd(t, c, "AUTH PLAIN %s", plain); code != 535 {
			t.Errorf("AUTH PLAIN with %s: %d %s, want 535", bad.what, code, msg)
		}
	}
	wantCode(t, "MAIL FROM after failed logins", c.Mail("app@example.com"), 530)
	if err := c.Auth(smtp.PlainAuth("", "app", "secret", "127.0.0.1")); err != nil {
		t.Fatalf("AUTH with the right password: %v", err)
	}
	wantCode(t, "MAIL FROM a sender outside allowed_from", c.Mail("ceo@elsewhere.example"), 550)
	reply, err := sendData(c, "app@example.com", []string{"someone@example.net"}, "Subject: relayed\r\n\r\nok\r\n")
	if err != nil {
		t.Fatalf("authenticated submission: %v", err)
	}
	if rec := record(t, d.URL, queueID(t, reply)); rec.Status == "" {
		t.Errorf("message %s unknown to the API", reply)
	}
	c.Quit()
	d.Stop()
}

// TestSMTPLimits: the size limit is max_message_size, announced with SIZE
// and enforced with 552; recipients beyond smtp_max_recipients get 452;
// neither leaves anything in the queue.
func TestSMTPLimits(t *testing.T) {
	d := startDaemon(t, t.TempDir(), "null:", "OUTBOX_MAX_MESSAGE_SIZE=2048", "OUTBOX_SMTP_MAX_RECIPIENTS=2")
	c := dialSMTP(t, d.SMTP)
	if ok, size := c.Extension("SIZE"); !ok || size != "2048" {
		t.Errorf("SIZE %v %q, want 2048", ok, size)
	}
	if code, msg := cmd(t, c, "MAIL FROM:<app@example.com> SIZE=4096"); code != 552 {
		t.Errorf("MAIL FROM with SIZE=4096: %d %s, want 552", code, msg)
	}
	cmd(t, c, "RSET")

	big := "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\r\n", 64)
	_, err := sendData(c, "app@example.com", []string{"a@example.net"}, big)
	wantCode(t, "a 4 KiB message over a 2 KiB limit", err, 552)
	if err != nil && !strings.Contains(err.Error(), "5.3.4") {
		t.Errorf("oversize reply %q lacks 5.3.4", err)
	}
	cmd(t, c, "RSET")

	if err := c.Mail("app@example.com"); err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"a@example.net", "b@example.net"} {
		if err := c.Rcpt(r); err != nil {
			t.Fatalf("RCPT %s: %v", r, err)
		}
	}
	err = c.Rcpt("c@example.net")
	wantCode(t, "third recipient of two allowed", err, 452)
	if err != nil && !strings.Contains(err.Error(), "4.5.3") {
		t.Errorf("too-many-recipients reply %q lacks 4.5.3", err)
	}
	cmd(t, c, "RSET")

	var page struct {
		Messages []struct{ ID int64 } `json:"messages"`
	}
	getJSON(t, d.URL+"/v1/messages", &page)
	if len(page.Messages) != 0 {
		t.Errorf("refused submissions left %d messages in the queue", len(page.Messages))
	}
	c.Quit()
	d.Stop()
}

// TestSMTPBcc: recipients given only in the envelope get the message;
// the Bcc field reaches no one.
func TestSMTPBcc(t *testing.T) {
	sink := outboxtest.NewSink(t)
	d := startDaemon(t, t.TempDir(), "smtp://"+sink.Addr()+"?tls=none")
	c := dialSMTP(t, d.SMTP) // loopback is trusted by default: no AUTH
	data := "From: boss@example.com\r\n" +
		"To: team@example.net\r\n" +
		"Bcc: auditor@example.org,\r\n archive@example.org\r\n" +
		"Subject: plans\r\n" +
		"\r\n" +
		"Bcc: in the body stays.\r\n"
	rcpts := []string{"team@example.net", "auditor@example.org", "archive@example.org", "silent@example.org"}
	reply, err := sendData(c, "boss@example.com", rcpts, data)
	if err != nil {
		t.Fatal(err)
	}
	id := queueID(t, reply)
	got := sink.WaitFor(1, 15*time.Second)[0]
	if !slices.Equal(got.To, rcpts) {
		t.Errorf("delivered to %v, want every envelope recipient %v", got.To, rcpts)
	}
	header, body, _ := bytes.Cut(got.Data, []byte("\r\n\r\n"))
	if bytes.Contains(header, []byte("Bcc")) || bytes.Contains(header, []byte("auditor")) || bytes.Contains(header, []byte("archive")) {
		t.Errorf("the Bcc field leaked into the delivered header:\n%s", header)
	}
	if string(body) != "Bcc: in the body stays.\r\n" {
		t.Errorf("body %q", body)
	}
	rec := waitStatus(t, d.URL, id, "sent")
	if len(rec.Recipients) != 4 {
		t.Errorf("API recipients %+v", rec.Recipients)
	}
	c.Quit()
	d.Stop()
}

// TestSMTPGracefulShutdown: SIGTERM while a message is being sent stops
// new connections at once, lets the transaction finish with its 250, and
// the message is then delivered — by this process or the next. The
// engine claims nothing after the signal: mail falling due while the
// transaction drains waits for the next start.
func TestSMTPGracefulShutdown(t *testing.T) {
	sink := outboxtest.NewSink(t)
	dir := t.TempDir()
	backendURL := "smtp://" + sink.Addr() + "?tls=none"
	d := startDaemon(t, dir, backendURL)
	due := time.Now().Add(2 * time.Second).Truncate(time.Second).Add(time.Second)
	var scheduled struct{ ID int64 }
	if code, err := post(t.Context(), d.URL+"/v1/messages", map[string]any{"from": "app@example.com",
		"to": []string{"later@example.net"}, "subject": "scheduled", "text": "due during the drain",
		"send_at": due.UTC().Format(time.RFC3339)}, &scheduled); code != http.StatusAccepted || err != nil {
		t.Fatalf("scheduled message: %d %v", code, err)
	}
	c := dialSMTP(t, d.SMTP)
	if err := c.Mail("app@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("late@example.net"); err != nil {
		t.Fatal(err)
	}
	w, err := startData(c)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(w, "Subject: in flight\r\n\r\nfirst half\r\n")

	d.Signal(syscall.SIGTERM)
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(d.Stderr(), "shutting down") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // the listeners close right after
	if conn, err := net.DialTimeout("tcp", d.SMTP, time.Second); err == nil {
		conn.Close()
		t.Error("the SMTP listener still accepts connections after SIGTERM")
	}
	select {
	case <-d.Exited():
		t.Fatalf("outbox serve exited with a transaction under way: %v\n%s", d.Wait(), d.Stderr())
	default:
	}

	time.Sleep(time.Until(due) + time.Second)
	if n := sink.Count(); n != 0 {
		t.Errorf("%d messages delivered after SIGTERM: a message due during the drain went out", n)
	}

	fmt.Fprintf(w, "second half\r\n")
	reply, err := endData(c, w)
	if err != nil {
		t.Fatalf("the transaction under way got %v, want 250", err)
	}
	id := queueID(t, reply)
	c.Quit()
	select {
	case <-d.Exited():
		if err := d.Wait(); err != nil {
			t.Fatalf("outbox serve exited with %v\n%s", err, d.Stderr())
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("outbox serve did not stop after the transaction ended\n%s", d.Stderr())
	}

	d2 := startDaemon(t, dir, backendURL)
	got := sink.WaitFor(2, 15*time.Second)
	if !slices.ContainsFunc(got, func(m outboxtest.SinkMessage) bool {
		return bytes.HasSuffix(m.Data, []byte("first half\r\nsecond half\r\n"))
	}) {
		t.Errorf("the message sent during the drain is not among the %d delivered", len(got))
	}
	waitStatus(t, d2.URL, id, "sent")
	waitStatus(t, d2.URL, scheduled.ID, "sent")
	d2.Stop()
}

// TestSMTPDevelopmentCertificate: the first start generates a
// self-signed certificate in the data directory (key 0600) and warns
// about it; later starts reuse it, for STARTTLS and SMTPS alike.
func TestSMTPDevelopmentCertificate(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir, "null:", "OUTBOX_SMTPS_ADDR=127.0.0.1:0")
	if !strings.Contains(d.Stderr(), "level=WARN msg=\"SMTP uses a self-signed development certificate") ||
		!strings.Contains(d.Stderr(), "generated=true") {
		t.Errorf("no warning about a generated development certificate:\n%s", d.Stderr())
	}
	certPath := filepath.Join(dir, "tls", "dev-cert.pem")
	first, err := os.ReadFile(certPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(dir, "tls", "dev-key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file: %v, mode %v, want 0600", err, fi.Mode().Perm())
	}
	// SMTPS: TLS from the first byte, verified against that certificate.
	conn, err := tls.Dial("tcp", d.SMTPS, trustingTLS(t, dir))
	if err != nil {
		t.Fatalf("SMTPS handshake: %v", err)
	}
	c, err := smtp.NewClient(conn, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sendData(c, "app@example.com", []string{"a@example.net"}, "Subject: smtps\r\n\r\nhi\r\n"); err != nil {
		t.Errorf("over SMTPS: %v", err)
	}
	c.Quit()
	d.Stop()

	d = startDaemon(t, dir, "null:")
	if !strings.Contains(d.Stderr(), "generated=false") {
		t.Errorf("second start: no warning about the reused certificate:\n%s", d.Stderr())
	}
	if again, _ := os.ReadFile(certPath); !bytes.Equal(again, first) {
		t.Error("the development certificate changed between starts")
	}
	c = dialSMTP(t, d.SMTP)
	if err := c.StartTLS(trustingTLS(t, dir)); err != nil {
		t.Errorf("STARTTLS after a restart: %v", err)
	}
	c.Quit()
	d.Stop()
}

// TestSMTPConfiguredCertificate: with smtp_tls_cert and smtp_tls_key the
// server presents that certificate and generates none.
func TestSMTPConfiguredCertificate(t *testing.T) {
	certPEM, keyPEM, err := newDevCert("mail.example.com", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile := writeFile(t, "cert.pem", string(certPEM)), writeFile(t, "key.pem", string(keyPEM))
	dir := t.TempDir()
	d := startDaemon(t, dir, "null:", "OUTBOX_SMTP_TLS_CERT="+certFile, "OUTBOX_SMTP_TLS_KEY="+keyFile)
	c := dialSMTP(t, d.SMTP)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	if err := c.StartTLS(&tls.Config{RootCAs: pool, ServerName: "mail.example.com"}); err != nil {
		t.Fatalf("STARTTLS verifying the configured certificate: %v", err)
	}
	state, _ := c.TLSConnectionState()
	if len(state.PeerCertificates) == 0 || !slices.Contains(state.PeerCertificates[0].DNSNames, "mail.example.com") {
		t.Errorf("the server did not present the configured certificate")
	}
	c.Quit()
	if _, err := os.Stat(filepath.Join(dir, "tls")); !os.IsNotExist(err) {
		t.Errorf("a development certificate was generated despite smtp_tls_cert: %v", err)
	}
	d.Stop()

	out, err := runBinary(t, "serve", "--http-addr", "127.0.0.1:0", "--smtp-addr", "127.0.0.1:0", "--data-dir", t.TempDir(),
		"--config", writeFile(t, "bad.toml", "smtp_tls_cert = \""+certFile+"\"\nsmtp_tls_key = \""+certFile+"\"\n"))
	if err == nil || !bytes.Contains(out, []byte("smtp_tls_cert, smtp_tls_key")) {
		t.Errorf("a key file that holds no key: err %v, output %s", err, out)
	}
}

// TestServeRefusesPublicSMTPWithoutAccessControl: a listener off loopback
// needs smtp_users or smtp_trusted_networks, and the error names them.
func TestServeRefusesPublicSMTPWithoutAccessControl(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"--smtp-addr", "0.0.0.0:2525"}, []string{"smtp_addr 0.0.0.0:2525 is not loopback", "smtp_users", "smtp_trusted_networks"}},
		{[]string{"--smtp-addr", "off", "--smtps-addr", ":465"}, []string{"smtps_addr :465 is not loopback", "smtp_users"}},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"serve", "--http-addr", "127.0.0.1:0", "--data-dir", t.TempDir()}, tt.args...)
		code := run(context.Background(), args, nil, &stdout, &stderr, (&envMap{}).getenv)
		if code != exitError {
			t.Errorf("%v: exit %d, want %d", tt.args, code, exitError)
		}
		for _, w := range tt.want {
			if !strings.Contains(stderr.String(), w) {
				t.Errorf("%v: stderr %q does not contain %q", tt.args, stderr.String(), w)
			}
		}
	}
}
