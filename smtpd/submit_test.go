package smtpd

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/outboxmail/outbox"
)

// signedMessage looks like what an application that signs its mail sends:
// folded fields, a DKIM signature over them, 8-bit text and lines that
// start with dots (which SMTP stuffs on the wire).
const signedMessage = "DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=example.com;\r\n" +
	"\ts=sel; h=from:to:subject:date:message-id;\r\n" +
	"\tbh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=dGVzdA==\r\n" +
	"From: Helpdesk <help@example.com>\r\n" +
	"To: Customer <customer@example.net>\r\n" +
	"Subject: =?utf-8?q?Ticket_#42_re=C3=A7u?=\r\n" +
	"Date: Mon, 02 Jan 2006 15:04:05 -0700\r\n" +
	"Message-ID: <ticket-42@example.com>\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\n" +
	"Content-Transfer-Encoding: 8bit\r\n" +
	"\r\n" +
	"Bonjour, votre ticket est reçu.\r\n" +
	".a line that starts with a dot\r\n" +
	"..and one with two\r\n" +
	"Bcc: not-a-header@example.org (this is body text)\r\n" +
	"   trailing spaces kept   \r\n"

func TestSubmitStoresMessageByteExact(t *testing.T) {
	env := start(t, Config{})
	c := env.dial(t)
	id := send(t, c, "bounces@example.com", []string{"customer@example.net"}, signedMessage)

	rec := env.stored(t, id)
	proto, rest := splitReceived(t, rec.Raw)
	if proto != "ESMTP" {
		t.Errorf("Received protocol %s, want ESMTP", proto)
	}
	if !bytes.Equal(rest, []byte(signedMessage)) {
		t.Fatalf("stored message differs from the submitted one:\n got %q\nwant %q", rest, signedMessage)
	}
	if rec.From != "bounces@example.com" {
		t.Errorf("envelope sender %q, want bounces@example.com", rec.From)
	}
	if got := recipients(rec); !slices.Equal(got, []string{"customer@example.net"}) {
		t.Errorf("recipients %v", got)
	}
	if rec.MessageID != "<ticket-42@example.com>" {
		t.Errorf("Message-ID %q, want the message's own", rec.MessageID)
	}
	if !strings.Contains(string(rec.Raw), "Received: from client.test ([127.0.0.1])") {
		t.Errorf("Received field does not name the client:\n%s", rec.Raw)
	}
}

// A message many times the first read buffer arrives whole: the buffer
// grows as often as it must, however the data is cut into reads.
func TestSubmitStoresLargeMessageByteExact(t *testing.T) {
	env := start(t, Config{})
	c := env.dial(t)
	var b strings.Builder
	b.WriteString(signedMessage)
	for i := 0; b.Len() < 20*readChunk+17; i++ {
		fmt.Fprintf(&b, "line %d of a long attachment, base64 or not\r\n", i)
	}
	msg := b.String()
	id := send(t, c, "bounces@example.com", []string{"customer@example.net"}, msg)

	_, rest := splitReceived(t, env.stored(t, id).Raw)
	if !bytes.Equal(rest, []byte(msg)) {
		t.Fatalf("stored message of %d bytes differs from the %d submitted", len(rest), len(msg))
	}
}

func TestSubmitAddsMessageIDAndDateWhenMissing(t *testing.T) {
	env := start(t, Config{})
	c := env.dial(t)
	msg := "From: app@example.com\r\nTo: a@example.net\r\nSubject: hi\r\n\r\nbody\r\n"
	id := send(t, c, "app@example.com", []string{"a@example.net"}, msg)

	rec := env.stored(t, id)
	raw := string(rec.Raw)
	if !strings.Contains(raw, "\r\nMessage-ID: "+rec.MessageID+"\r\n") && !strings.HasPrefix(raw, "Message-ID: "+rec.MessageID+"\r\n") {
		t.Errorf("no Message-ID field %s in\n%s", rec.MessageID, raw)
	}
	if !strings.HasPrefix(raw, "Date: ") && !strings.Contains(raw, "\r\nDate: ") {
		t.Errorf("no Date field in\n%s", raw)
	}
	if !strings.HasSuffix(raw, msg) {
		t.Errorf("submitted bytes not kept:\n%s", raw)
	}
}

func TestNullSenderAccepted(t *testing.T) {
	env := start(t, Config{})
	c := env.dial(t)
	id := send(t, c, "", []string{"a@example.net"}, signedMessage)
	if rec := env.stored(t, id); rec.From != "" {
		t.Errorf("envelope sender %q, want empty", rec.From)
	}
}

func TestBccDeliveredFromEnvelopeOnly(t *testing.T) {
	env := start(t, Config{})
	c := env.dial(t)
	msg := "From: app@example.com\r\n" +
		"To: visible@example.net\r\n" +
		"Bcc: hidden@example.net,\r\n" +
		"  other-hidden@example.net\r\n" +
		"Subject: quarterly numbers\r\n" +
		"bcc: lower-case@example.net\r\n" +
		"Message-ID: <q@example.com>\r\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 -0700\r\n" +
		"\r\n" +
		"Bcc: body text is not a header\r\n"
	want := "From: app@example.com\r\n" +
		"To: visible@example.net\r\n" +
		"Subject: quarterly numbers\r\n" +
		"Message-ID: <q@example.com>\r\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 -0700\r\n" +
		"\r\n" +
		"Bcc: body text is not a header\r\n"
	rcpts := []string{"visible@example.net", "hidden@example.net", "envelope-only@example.org"}
	id := send(t, c, "app@example.com", rcpts, msg)

	rec := env.stored(t, id)
	_, rest := splitReceived(t, rec.Raw)
	if string(rest) != want {
		t.Fatalf("stored message:\n%s\nwant:\n%s", rest, want)
	}
	if got := recipients(rec); !slices.Equal(got, rcpts) {
		t.Errorf("recipients %v, want %v", got, rcpts)
	}
}

// A message whose first line is a continuation line would continue the
// Received field the server prepends: the fields after it are then header
// fields of the stored message, though the header scan took them for body
// and left Bcc and the control fields in. Such a header is refused.
func TestLeadingContinuationLineRefused(t *testing.T) {
	env := start(t, Config{})
	c := env.dial(t)
	for _, lead := range []string{" folded\r\n", "\tfolded\r\n"} {
		msg := lead +
			"From: app@example.com\r\n" +
			"To: visible@example.net\r\n" +
			"Bcc: hidden@example.net\r\n" +
			"X-Outbox-Priority: high\r\n" +
			"\r\n" +
			"body\r\n"
		_, err := trySend(c, "app@example.com", []string{"visible@example.net", "hidden@example.net"}, msg, nil)
		wantCode(t, err, 554, smtp.EnhancedCode{5, 6, 0})
		if err := c.Reset(); err != nil {
			t.Fatal(err)
		}
	}
	if n := env.count(t); n != 0 {
		t.Fatalf("%d messages stored, want 0", n)
	}
}

func TestControlHeadersAppliedAndRemoved(t *testing.T) {
	env := start(t, Config{})
	c := env.dial(t)
	msg := "X-Outbox-Priority: high\r\n" +
		"From: app@example.com\r\n" +
		"x-outbox-send-at: 2030-01-02T03:04:05Z\r\n" +
		"To: a@example.net\r\n" +
		"X-Outbox-Tags: welcome,\r\n" +
		"\tonboarding\r\n" +
		"X-Outbox-Tags: batch-7\r\n" +
		"X-Outbox-Backend: relay\r\n" +
		"X-Outbox-Idempotency-Key: signup-1234\r\n" +
		"Subject: Welcome\r\n" +
		"Message-ID: <w@example.com>\r\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 -0700\r\n" +
		"\r\n" +
		"X-Outbox-Priority: low (body text)\r\n"
	want := "From: app@example.com\r\n" +
		"To: a@example.net\r\n" +
		"Subject: Welcome\r\n" +
		"Message-ID: <w@example.com>\r\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 -0700\r\n" +
		"\r\n" +
		"X-Outbox-Priority: low (body text)\r\n"
	id := send(t, c, "app@example.com", []string{"a@example.net"}, msg)

	rec := env.stored(t, id)
	_, rest := splitReceived(t, rec.Raw)
	if string(rest) != want {
		t.Fatalf("stored message:\n%s\nwant:\n%s", rest, want)
	}
	if rec.Priority != outbox.PriorityHigh {
		t.Errorf("priority %v, want high", rec.Priority)
	}
	if want := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC); !rec.SendAt.Equal(want) {
		t.Errorf("send at %v, want %v", rec.SendAt, want)
	}
	if !slices.Equal(rec.Tags, []string{"welcome", "onboarding", "batch-7"}) {
		t.Errorf("tags %q", rec.Tags)
	}
	if rec.Backend != "relay" {
		t.Errorf("backend %q, want relay", rec.Backend)
	}
	if rec.IdempotencyKey != "signup-1234" {
		t.Errorf("idempotency key %q", rec.IdempotencyKey)
	}
}

// TestRedirectedCopyRelayed: a staging Outbox relaying to another one
// sends copies carrying X-Outbox-Original-Recipients (backend/redirect):
// that field is no control field, so it is taken and kept as it is.
func TestRedirectedCopyRelayed(t *testing.T) {
	env := start(t, Config{})
	c := env.dial(t)
	msg := "From: app@example.com\r\n" +
		"To: customer@example.org\r\n" +
		"X-Outbox-Original-Recipients: customer@example.org,\r\n hidden@example.net\r\n" +
		"Subject: Welcome\r\n" +
		"Message-ID: <r@example.com>\r\n" +
		"Date: Mon, 02 Jan 2006 15:04:05 -0700\r\n" +
		"\r\n" +
		"Hello\r\n"
	id := send(t, c, "app@example.com", []string{"qa@example.com"}, msg)
	_, rest := splitReceived(t, env.stored(t, id).Raw)
	if string(rest) != msg {
		t.Fatalf("stored message:\n%s\nwant:\n%s", rest, msg)
	}
}

func TestControlHeaderErrors(t *testing.T) {
	env := start(t, Config{})
	c := env.dial(t)
	for _, tc := range []struct {
		field, text string
	}{
		{"X-Outbox-Priority: urgent", "X-Outbox-Priority: "},
		{"X-Outbox-Send-At: tomorrow", "X-Outbox-Send-At: "},
		{"X-Outbox-Backend: nowhere", "X-Outbox-Backend: "},
		{"X-Outbox-Priorty: high", "X-Outbox-Priorty: unknown control field"},
		{"X-Outbox-Idempotency-Key: a\r\nX-Outbox-Idempotency-Key: b", "X-Outbox-Idempotency-Key: appears more than once"},
		{"X-Outbox-Tags:", "X-Outbox-Tags: empty value"},
	} {
		msg := tc.field + "\r\nFrom: app@example.com\r\nSubject: x\r\n\r\nbody\r\n"
		_, err := trySend(c, "app@example.com", []string{"a@example.net"}, msg, nil)
		wantCode(t, err, 550, smtp.EnhancedCode{5, 6, 0})
		if se, _ := errors.AsType[*smtp.SMTPError](err); !strings.HasPrefix(se.Message, tc.text) {
			t.Errorf("%s: reply %q, want it to start with %q", tc.field, se.Message, tc.text)
		}
	}
	if n := env.count(t); n != 0 {
		t.Errorf("%d messages stored, want none", n)
	}
}

func TestIdempotencyKeyRepeatReturnsFirstID(t *testing.T) {
	env := start(t, Config{})
	c := env.dial(t)
	msg := "X-Outbox-Idempotency-Key: order-77\r\nFrom: shop@example.com\r\nSubject: Order 77\r\n\r\nThanks\r\n"
	first := send(t, c, "shop@example.com", []string{"buyer@example.net"}, msg)
	// A second connection, as a client retrying after a lost reply would.
	again := send(t, env.dial(t), "shop@example.com", []string{"buyer@example.net"}, msg)
	if again != first {
		t.Fatalf("repeat got id %d, want the first message's %d", again, first)
	}
	if n := env.count(t); n != 1 {
		t.Errorf("%d messages stored, want 1", n)
	}
}

func TestBDATSubmission(t *testing.T) {
	env := start(t, Config{})
	r := env.raw(t)
	ehlo := r.must("EHLO client.test", 250)
	if !strings.Contains(ehlo, "CHUNKING") {
		t.Fatalf("CHUNKING not advertised:\n%s", ehlo)
	}
	r.must("MAIL FROM:<app@example.com> BODY=8BITMIME", 250)
	r.must("RCPT TO:<a@example.net>", 250)
	// The control field is split across the chunks, and a line that
	// starts with a dot is not stuffed: BDAT carries the bytes as they are.
	chunk1 := "X-Outbox-Prio"
	chunk2 := "rity: low\r\n" + signedMessage[:200]
	chunk3 := signedMessage[200:] + ".\r\n"
	r.write(fmt.Sprintf("BDAT %d\r\n%s", len(chunk1), chunk1))
	r.expect(250)
	r.write(fmt.Sprintf("BDAT %d\r\n%s", len(chunk2), chunk2))
	r.expect(250)
	r.write(fmt.Sprintf("BDAT %d LAST\r\n%s", len(chunk3), chunk3))
	text := r.expect(250)
	id, err := queuedID(text)
	if err != nil {
		t.Fatal(err)
	}
	rec := env.stored(t, id)
	_, rest := splitReceived(t, rec.Raw)
	if want := signedMessage + ".\r\n"; string(rest) != want {
		t.Fatalf("stored:\n%q\nwant:\n%q", rest, want)
	}
	if rec.Priority != outbox.PriorityLow {
		t.Errorf("priority %v, want low", rec.Priority)
	}
	// The session goes on: a second message by DATA on the same connection.
	r.must("MAIL FROM:<app@example.com>", 250)
	r.must("RCPT TO:<b@example.net>", 250)
	r.must("DATA", 354)
	r.write(strings.ReplaceAll(signedMessage, "\r\n.", "\r\n..") + ".\r\n")
	r.expect(250)
}

func TestSMTPUTF8Addresses(t *testing.T) {
	env := start(t, Config{})
	c := env.dial(t)
	if ok, _ := c.Extension("SMTPUTF8"); !ok {
		t.Fatal("SMTPUTF8 not advertised")
	}
	from, to := "élise@exämple.com", "用户@例子.广告"
	msg := "From: élise@exämple.com\r\nTo: 用户@例子.广告\r\nSubject: héllo\r\n\r\nçà\r\n"
	id, err := trySend(c, from, []string{to}, msg, &smtp.MailOptions{UTF8: true})
	if err != nil {
		t.Fatal(err)
	}
	rec := env.stored(t, id)
	if rec.From != from || !slices.Equal(recipients(rec), []string{to}) {
		t.Errorf("envelope %q → %v", rec.From, recipients(rec))
	}

	// Without the SMTPUTF8 parameter a non-ASCII address is refused.
	r := env.raw(t)
	r.must("EHLO client.test", 250)
	if code, msg := r.cmd("MAIL FROM:<" + from + ">"); code != 553 || !strings.HasPrefix(msg, "5.6.7") {
		t.Errorf("MAIL without SMTPUTF8: %d %s, want 553 5.6.7", code, msg)
	}
	r.must("MAIL FROM:<app@example.com>", 250)
	if code, msg := r.cmd("RCPT TO:<" + to + ">"); code != 553 || !strings.HasPrefix(msg, "5.6.7") {
		t.Errorf("RCPT without SMTPUTF8: %d %s, want 553 5.6.7", code, msg)
	}
}

func TestEHLOAdvertisesExtensionsAndTakesAnyName(t *testing.T) {
	env := start(t, Config{MaxMessageBytes: 1 << 20})
	r := env.raw(t)
	ehlo := r.must("EHLO [not a domain at all]!", 250)
	for _, ext := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING", "STARTTLS", "SIZE 1048576", "AUTH PLAIN LOGIN"} {
		if ext == "AUTH PLAIN LOGIN" {
			// No users configured: nothing to authenticate against.
			if strings.Contains(ehlo, "AUTH") {
				t.Errorf("AUTH advertised without users:\n%s", ehlo)
			}
			continue
		}
		if !strings.Contains(ehlo, "\n"+ext) {
			t.Errorf("%s not advertised:\n%s", ext, ehlo)
		}
	}
	r.must("HELO x", 250)
}

func TestImplicitTLSListener(t *testing.T) {
	env := start(t, Config{Users: testUsers(t), TrustedNetworks: untrusted(), RequireTLSForLoopbackAuth: true})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go env.srv.ServeTLS(l)
	c, err := smtp.DialTLS(l.Addr().String(), clientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS advertised on a TLS connection")
	}
	if err := auth(c, "any", testPassword); err != nil {
		t.Fatalf("AUTH over implicit TLS: %v", err)
	}
	id := send(t, c, "app@example.com", []string{"a@example.net"}, signedMessage)
	if proto, _ := splitReceived(t, env.stored(t, id).Raw); proto != "ESMTPSA" {
		t.Errorf("Received protocol %s, want ESMTPSA", proto)
	}
}

func TestConcurrentSessions(t *testing.T) {
	env := start(t, Config{})
	const sessions = 20
	ids := make([]int64, sessions)
	errs := make([]error, sessions)
	var wg sync.WaitGroup
	for i := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtp.Dial(env.addr)
			if err != nil {
				errs[i] = err
				return
			}
			defer c.Close()
			msg := fmt.Sprintf("From: app@example.com\r\nSubject: %d\r\n\r\nmessage %d\r\n", i, i)
			ids[i], errs[i] = trySend(c, "app@example.com", []string{fmt.Sprintf("r%d@example.net", i)}, msg, nil)
		}()
	}
	wg.Wait()
	seen := map[int64]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
		if seen[ids[i]] {
			t.Fatalf("id %d given twice", ids[i])
		}
		seen[ids[i]] = true
		rec := env.stored(t, ids[i])
		if !strings.HasSuffix(string(rec.Raw), fmt.Sprintf("message %d\r\n", i)) {
			t.Errorf("id %d holds another session's message", ids[i])
		}
	}
}

func TestSTARTTLSThenSubmit(t *testing.T) {
	env := start(t, Config{})
	c, err := smtp.DialStartTLS(env.addr, clientTLS())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, ok := c.TLSConnectionState(); !ok {
		t.Fatal("no TLS after STARTTLS")
	}
	id := send(t, c, "app@example.com", []string{"a@example.net"}, signedMessage)
	if proto, _ := splitReceived(t, env.stored(t, id).Raw); proto != "ESMTPS" {
		t.Errorf("Received protocol %s, want ESMTPS", proto)
	}
}

// TestReceivedStaysFirst: the Date and Message-ID fields added to a
// message without them go below the Received field, which heads the
// message as RFC 5321 wants of trace fields.
func TestReceivedStaysFirst(t *testing.T) {
	env := start(t, Config{})
	c := env.dial(t)
	id := send(t, c, "app@example.com", []string{"a@example.net"},
		"From: app@example.com\r\nTo: a@example.net\r\nSubject: hi\r\n\r\nbody\r\n")
	fields := lines(env.stored(t, id).Raw)
	if !strings.HasPrefix(fields[0], "Received: ") || !strings.HasPrefix(fields[3], "Date: ") ||
		!strings.HasPrefix(fields[4], "Message-ID: ") || fields[5] != "From: app@example.com" {
		t.Errorf("stored header starts %q", fields[:6])
	}
}
