package console

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/outboxmail/outbox"
)

// rendered renders m as the client would store it and wraps it in an envelope.
func rendered(t *testing.T, id int64, m *outbox.Message) *outbox.Envelope {
	t.Helper()
	if err := m.Validate(); err != nil {
		t.Fatal(err)
	}
	r, err := outbox.Render(m, time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return &outbox.Envelope{ID: id, MessageID: r.MessageID, From: r.From, To: r.Recipients, Data: r.Data}
}

func send(t *testing.T, b *Backend, e *outbox.Envelope) {
	t.Helper()
	res, err := b.Send(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != len(e.To) {
		t.Fatalf("%d results for %d recipients", len(res), len(e.To))
	}
	for _, r := range res {
		if r.Class != outbox.ClassAccepted {
			t.Fatalf("result %+v", r)
		}
	}
}

func contains(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
}

func TestPrintsDecodedMessage(t *testing.T) {
	var out bytes.Buffer
	b := New(&out, Config{})
	e := rendered(t, 42, &outbox.Message{
		From:    outbox.Address{Name: "Jörg Müller", Addr: "jorg@example.com"},
		To:      []outbox.Address{{Name: "Ann", Addr: "ann@example.org"}},
		Cc:      []outbox.Address{{Addr: "cc@example.org"}},
		Bcc:     []outbox.Address{{Addr: "hidden@example.org"}},
		Subject: "Grüße aus Köln — Ticket #42",
		Text:    "Hallo Ann,\n\nschöne Grüße aus Köln.\n",
		HTML:    "<p>Hallo Ann</p>",
		Attachments: []outbox.Attachment{
			{Filename: "Bericht März.pdf", Content: make([]byte, 2048)},
			{Filename: "logo.png", Content: []byte("PNG"), ContentID: "logo"},
		},
	})
	send(t, b, e)
	got := out.String()
	contains(t, got,
		separator,
		"Queue ID:   42\n",
		"Message-ID: "+e.MessageID+"\n",
		"Envelope:   from <jorg@example.com> to <ann@example.org>, <cc@example.org>, <hidden@example.org>\n",
		"From:       Jörg Müller <jorg@example.com>\n",
		"To:         \"Ann\" <ann@example.org>\n",
		"Cc:         <cc@example.org>\n",
		"Subject:    Grüße aus Köln — Ticket #42\n",
		"Date:       Sat, 01 Mar 2025 12:00:00 +0000\n",
		"Hallo Ann,\n\nschöne Grüße aus Köln.\n",
		"Attachments:\n",
		"  - logo.png (image/png, inline, 3 bytes)\n",
		"  - Bericht März.pdf (application/pdf, 2.0 KiB)\n",
	)
	if strings.Contains(got, "=?utf-8?") || strings.Contains(got, "=C3") || strings.Contains(got, "\r") {
		t.Errorf("output is not decoded:\n%s", got)
	}
	if strings.Contains(got, "<p>") {
		t.Errorf("the HTML part was printed although there is a text part:\n%s", got)
	}
}

func TestPrintsHTMLOnlyStripped(t *testing.T) {
	var out bytes.Buffer
	b := New(&out, Config{})
	send(t, b, rendered(t, 1, &outbox.Message{
		From: outbox.Address{Addr: "a@example.com"}, To: []outbox.Address{{Addr: "b@example.com"}},
		Subject: "html",
		HTML: "<html><head><title>T</title><style>p{color:red}</style></head><body>\n" +
			"<h1>Welcome</h1><p>Hello&nbsp;<b>Ann</b> &amp; friends,\nsee you.</p><script>alert(1)</script>" +
			"<!-- hidden --><p>Bye</p></body></html>",
	}))
	got := out.String()
	contains(t, got, "[no text part; the HTML part with its tags stripped:]", "\n\nWelcome\n\nHello Ann & friends, see you.\n\nBye\n")
	for _, bad := range []string{"<b>", "alert", "color:red", "hidden", "&amp;"} {
		if strings.Contains(got, bad) {
			t.Errorf("output holds %q:\n%s", bad, got)
		}
	}
}

func TestPrintsBase64AndRawMessages(t *testing.T) {
	var out bytes.Buffer
	b := New(&out, Config{})
	raw := "From: a@example.com\r\nSubject: =?utf-8?b?w4ljaG8=?=\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: base64\r\n\r\n" + "SGVsbG8gd29ybGQsIMOpY2hvIQ==\r\n"
	send(t, b, &outbox.Envelope{ID: 3, MessageID: "<x@y>", From: "", To: []string{"b@example.com"}, Data: []byte(raw)})
	contains(t, out.String(), "Envelope:   from <> to <b@example.com>\n", "Subject:    Écho\n", "Hello world, écho!\n")
}

func TestRawMode(t *testing.T) {
	var out bytes.Buffer
	u, _ := url.Parse("console:?raw=true")
	b, err := FromURL(u)
	if err != nil {
		t.Fatal(err)
	}
	b.w = &out
	e := rendered(t, 9, &outbox.Message{
		From: outbox.Address{Addr: "a@example.com"}, To: []outbox.Address{{Addr: "b@example.com"}},
		Subject: "Grüße", Text: "Grüße",
	})
	send(t, b, e)
	got := out.String()
	if !strings.HasSuffix(got, "\n\n"+string(e.Data)) || !strings.HasPrefix(got, separator+"Queue ID:   9\n") {
		t.Errorf("raw output:\n%q\nwant the envelope then the bytes\n%q", got, e.Data)
	}
}

func TestControlCharactersEscaped(t *testing.T) {
	var out bytes.Buffer
	b := New(&out, Config{})
	raw := "From: a@example.com\r\nSubject: evil \x1b]0;title\x07 subject\r\n\r\nbody \x1b[2J cleared? \xff\r\n"
	send(t, b, &outbox.Envelope{ID: 1, To: []string{"b@example.com"}, Data: []byte(raw)})
	got := out.String()
	if strings.ContainsAny(got, "\x1b\x07\r") || !utf8Valid(got) {
		t.Errorf("control characters reached the terminal: %q", got)
	}
	contains(t, got, `evil \x1b]0;title\a subject`, `body \x1b[2J cleared? `+"\uFFFD")
}

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "") == s }

func TestUnparsableMessage(t *testing.T) {
	var out bytes.Buffer
	b := New(&out, Config{})
	send(t, b, &outbox.Envelope{ID: 1, To: []string{"b@example.com"}, Data: []byte("not a header\r\n")})
	contains(t, out.String(), "does not parse", "not a header\n")
}

// lockedWriter fails the test when two writes overlap.
type lockedWriter struct {
	mu     sync.Mutex
	active bool
	bytes.Buffer
	t *testing.T
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.active {
		w.t.Error("concurrent writes")
	}
	w.active = true
	n, err := w.Buffer.Write(p)
	w.active = false
	w.mu.Unlock()
	return n, err
}

func TestConcurrentOutputDoesNotInterleave(t *testing.T) {
	w := &lockedWriter{t: t}
	b := New(w, Config{})
	const goroutines, each = 20, 10
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				e := rendered(t, int64(g*each+i), &outbox.Message{
					From: outbox.Address{Addr: "a@example.com"}, To: []outbox.Address{{Addr: "b@example.com"}},
					Subject: "concurrent", Text: strings.Repeat("line\n", 50),
				})
				send(t, b, e)
			}
		})
	}
	wg.Wait()
	blocks := strings.Split(w.String(), separator)[1:]
	if len(blocks) != goroutines*each {
		t.Fatalf("%d blocks, want %d", len(blocks), goroutines*each)
	}
	for _, blk := range blocks {
		if strings.Count(blk, "line\n") != 50 || strings.Count(blk, "Queue ID:") != 1 {
			t.Fatalf("a block was interleaved:\n%s", blk)
		}
	}
}

func TestSendAfterClose(t *testing.T) {
	var out bytes.Buffer
	b := New(&out, Config{})
	b.Close()
	if _, err := b.Send(context.Background(), &outbox.Envelope{To: []string{"a@b.c"}, Data: []byte("Subject: x\r\n\r\n")}); err == nil {
		t.Fatal("Send after Close succeeded")
	}
	if out.Len() != 0 {
		t.Errorf("Send after Close printed %q", out.String())
	}
}

func TestFromURL(t *testing.T) {
	for raw, want := range map[string]int{ // 0 summary, 1 raw, -1 error
		"console:":                0,
		"console://":              0,
		"console:?raw=true":       1,
		"console:?raw=1":          1,
		"console:?raw=false":      0,
		"console:?raw=yes please": -1,
		"console:?colour=1":       -1,
		"console:?raw=1&raw=0":    -1,
		"console:stdout":          -1,
		"console://host":          -1,
		"file:///srv/mail":        -1,
	} {
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		b, err := FromURL(u)
		if want < 0 {
			if err == nil {
				t.Errorf("FromURL(%q) succeeded", raw)
			}
			continue
		}
		if err != nil || b.cfg.Raw != (want == 1) {
			t.Errorf("FromURL(%q) = %+v, %v", raw, b, err)
		}
	}
}
