package smtpd

import (
	"encoding/base64"
	"errors"
	"net/smtp"
	"strings"
	"testing"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// lockedDown is a configuration where loopback is neither trusted nor
// secure enough for AUTH, so that tests from 127.0.0.1 see what a client
// on another machine sees.
func lockedDown(t *testing.T) Config {
	return Config{Users: testUsers(t), TrustedNetworks: untrusted(), RequireTLSForLoopbackAuth: true}
}

func TestUntrustedWithoutAuthIsRefused(t *testing.T) {
	env := start(t, lockedDown(t))
	c := env.dial(t)
	err := c.Mail("app@example.com", nil)
	wantCode(t, err, 530, gosmtp.EnhancedCode{5, 7, 0})
	if se, _ := errors.AsType[*gosmtp.SMTPError](err); se.Message != "Authentication required" {
		t.Errorf("reply text %q", se.Message)
	}
	// RCPT and DATA do not get past the refused MAIL either.
	r := env.raw(t)
	r.must("EHLO client.test", 250)
	r.must("MAIL FROM:<app@example.com>", 530)
	if code, _ := r.cmd("RCPT TO:<victim@example.net>"); code/100 != 5 {
		t.Errorf("RCPT after refused MAIL: %d, want 5xx", code)
	}
	if code, _ := r.cmd("DATA"); code/100 != 5 {
		t.Errorf("DATA after refused MAIL: %d, want 5xx", code)
	}
	if n := env.count(t); n != 0 {
		t.Errorf("%d messages stored", n)
	}
}

func TestAuthNotOfferedBeforeTLS(t *testing.T) {
	env := start(t, lockedDown(t))
	r := env.raw(t)
	ehlo := r.must("EHLO client.test", 250)
	if strings.Contains(ehlo, "AUTH") {
		t.Fatalf("AUTH offered before STARTTLS:\n%s", ehlo)
	}
	if !strings.Contains(ehlo, "STARTTLS") {
		t.Fatalf("STARTTLS not offered:\n%s", ehlo)
	}
	// Trying anyway does not let a password cross in clear text.
	if code, msg := r.cmd("AUTH PLAIN AGFwcAA="); code != 538 || !strings.HasPrefix(msg, "5.7.11") {
		t.Errorf("AUTH before TLS: %d %s, want 538 5.7.11", code, msg)
	}
}

func TestAuthAfterSTARTTLS(t *testing.T) {
	env := start(t, lockedDown(t))
	c, err := gosmtp.DialStartTLS(env.addr, clientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, mechs := c.Extension("AUTH"); !ok || mechs != "PLAIN LOGIN" {
		t.Fatalf("AUTH after STARTTLS: %v %q, want PLAIN LOGIN", ok, mechs)
	}
	wantCode(t, auth(c, "app", "wrong password"), 535, gosmtp.EnhancedCode{5, 7, 8})
	wantCode(t, auth(c, "nobody", testPassword), 535, gosmtp.EnhancedCode{5, 7, 8})
	if err := auth(c, "app", testPassword); err != nil {
		t.Fatalf("AUTH with the right password: %v", err)
	}
	id := send(t, c, "news@example.com", []string{"a@example.net"}, signedMessage)
	if proto, _ := splitReceived(t, env.stored(t, id).Raw); proto != "ESMTPSA" {
		t.Errorf("Received protocol %s, want ESMTPSA", proto)
	}
}

func TestAuthLOGIN(t *testing.T) {
	env := start(t, lockedDown(t))
	c, err := gosmtp.DialStartTLS(env.addr, clientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	wantCode(t, c.Auth(sasl.NewLoginClient("any", "nope")), 535, gosmtp.EnhancedCode{5, 7, 8})
	if err := c.Auth(sasl.NewLoginClient("any", testPassword)); err != nil {
		t.Fatalf("AUTH LOGIN: %v", err)
	}
	send(t, c, "whoever@example.org", []string{"a@example.net"}, signedMessage)
}

func TestAuthLOGINWithoutInitialResponse(t *testing.T) {
	env := start(t, Config{Users: testUsers(t), TrustedNetworks: untrusted()})
	r := env.raw(t)
	r.must("EHLO client.test", 250)
	b64 := base64.StdEncoding.EncodeToString
	if got := r.must("AUTH LOGIN", 334); got != b64([]byte("Username:")) {
		t.Errorf("first prompt %q", got)
	}
	if got := r.must(b64([]byte("any")), 334); got != b64([]byte("Password:")) {
		t.Errorf("second prompt %q", got)
	}
	r.must(b64([]byte(testPassword)), 235)
	r.must("MAIL FROM:<any@example.com>", 250)
}

func TestAuthWithStandardLibraryClient(t *testing.T) {
	env := start(t, lockedDown(t))
	c, err := smtp.Dial(env.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.StartTLS(clientTLS()); err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(smtp.PlainAuth("", "app", testPassword, "127.0.0.1")); err != nil {
		t.Fatalf("AUTH: %v", err)
	}
	if err := c.Mail("app@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("a@example.net"); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(signedMessage))
	if err := w.Close(); err != nil {
		t.Fatalf("end of data: %v", err)
	}
	if n := env.count(t); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
}

func TestAllowedFrom(t *testing.T) {
	env := start(t, lockedDown(t))
	c, err := gosmtp.DialStartTLS(env.addr, clientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := auth(c, "app", testPassword); err != nil {
		t.Fatal(err)
	}
	for _, from := range []string{"someone@example.net", "ops@example.org.evil", "", "x@sub.example.com"} {
		wantCode(t, c.Mail(from, nil), 550, gosmtp.EnhancedCode{5, 7, 1})
	}
	for _, from := range []string{"anyone@EXAMPLE.com", "Ops@example.org"} {
		send(t, c, from, []string{"a@example.net"}, signedMessage)
	}
}

func TestLoopbackAuthWithoutTLSByDefault(t *testing.T) {
	env := start(t, Config{Users: testUsers(t), TrustedNetworks: untrusted()})
	c := env.dial(t)
	if ok, _ := c.Extension("AUTH"); !ok {
		t.Fatal("AUTH not offered on loopback")
	}
	wantCode(t, c.Mail("app@example.com", nil), 530, gosmtp.EnhancedCode{5, 7, 0})
	if err := auth(c, "app", testPassword); err != nil {
		t.Fatal(err)
	}
	id := send(t, c, "app@example.com", []string{"a@example.net"}, signedMessage)
	if proto, _ := splitReceived(t, env.stored(t, id).Raw); proto != "ESMTPA" {
		t.Errorf("Received protocol %s, want ESMTPA", proto)
	}
}

func TestTrustedNetworkNeedsNoAuth(t *testing.T) {
	// The default trusts loopback only; with users configured, a client
	// on loopback may still submit without them.
	env := start(t, Config{Users: testUsers(t)})
	send(t, env.dial(t), "anyone@anywhere.example", []string{"a@example.net"}, signedMessage)
}

func TestAuthCacheSkipsBcryptForKnownPassword(t *testing.T) {
	users := testUsers(t)
	a := newAuthenticator(users)
	if a.check("app", testPassword) == nil {
		t.Fatal("right password refused")
	}
	if a.check("app", "wrong") != nil {
		t.Fatal("wrong password accepted")
	}
	// Break the hash: only a cached success can still pass.
	a.users["app"].PasswordHash = "not a hash"
	if a.check("app", testPassword) == nil {
		t.Error("second check of the same password was not served from the cache")
	}
	if a.check("app", "wrong") != nil {
		t.Error("wrong password accepted after caching")
	}
	for i := range authCacheSize + 10 {
		a.mu.Lock()
		a.cache[[32]byte{byte(i), byte(i >> 8), 1}] = struct{}{}
		a.mu.Unlock()
	}
	a.users["app"].PasswordHash = users[1].PasswordHash
	a.check("any", testPassword)
	if n := len(a.cache); n > authCacheSize {
		t.Errorf("cache holds %d entries, want at most %d", n, authCacheSize)
	}
}
