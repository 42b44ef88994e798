package outbox

import (
	"bytes"
	"net/mail"
	"strings"
	"testing"
)

// FuzzRenderParse renders messages built from arbitrary text and checks
// that whatever Validate accepts, Render renders, and net/mail plus
// mime/multipart read back the same subject, display name, header value,
// bodies and attachment. The seed corpus is in testdata/fuzz/FuzzRenderParse.
func FuzzRenderParse(f *testing.F) {
	f.Add("Ann", "Hello", "text\n", "", "value", "a.txt", []byte("data"), false)
	f.Add("Jörg Müller", "Grüße — ✓", "Grüße\r\n", "<p>Grüße</p>", "Ça va", "Bericht März.pdf", []byte{0, 1, 2, 0xff}, false)
	f.Add(`"quoted" \ name`, "=?utf-8?q?x?=", "a\rb\nc\r\n", "<img src=cid:c1>", " padded ", "logo.png", []byte("PNG"), true)
	f.Add("", strings.Repeat("long ", 40), strings.Repeat("x", 2000), "", strings.Repeat("w ", 100), "", []byte(nil), false)
	f.Fuzz(func(t *testing.T, name, subject, text, html, value, filename string, content []byte, inline bool) {
		m := &Message{
			From:    Address{Name: name, Addr: "from@example.com"},
			To:      []Address{{Name: name, Addr: "to@example.org"}},
			Subject: subject,
			Text:    text,
			HTML:    html,
			Headers: map[string]string{"X-Fuzz": value},
		}
		if filename != "" {
			a := Attachment{Filename: filename, Content: content}
			if inline {
				a.ContentID = "c1@example.com"
			}
			m.Attachments = []Attachment{a}
		}
		if m.Validate() != nil {
			return
		}
		r, err := Render(m, renderNow)
		if err != nil {
			t.Fatalf("Render of a valid message: %v", err)
		}
		p := parseRendered(t, r.Data)

		if got := decodeHeader(t, p.Header, "Subject"); got != subject && !(subject == "" && got == "") {
			t.Errorf("Subject %q came back as %q", subject, got)
		}
		from, err := p.Header.AddressList("From")
		if err != nil || len(from) != 1 || from[0].Address != "from@example.com" || from[0].Name != name {
			t.Errorf("From name %q came back as %v (%v) from %q", name, from, err, p.Header.Get("From"))
		}
		// A printable ASCII value is written as given (readers trim its
		// ends); any other is encoded.
		var got string
		if printableASCII(value) {
			got, value = p.Header.Get("X-Fuzz"), strings.Trim(value, " \t")
		} else {
			got = decodeHeader(t, p.Header, "X-Fuzz")
		}
		if got != value {
			t.Errorf("X-Fuzz %q came back as %q", value, got)
		}
		if got, want := crlfToLF(p.Text), normalizeBreaks(text); got != want && got != want+"\n" {
			t.Errorf("text %q came back as %q", want, got)
		}
		if got, want := crlfToLF(p.HTML), normalizeBreaks(html); got != want && got != want+"\n" {
			t.Errorf("html %q came back as %q", want, got)
		}
		if filename != "" {
			if len(p.Attachments) != 1 {
				t.Fatalf("%d attachments, want 1", len(p.Attachments))
			}
			if a := p.Attachments[0]; a.Filename != filename || !bytes.Equal(a.Content, content) {
				t.Errorf("attachment %q (%d bytes) came back as %q (%d bytes)", filename, len(content), a.Filename, len(a.Content))
			}
		}
	})
}

// normalizeBreaks turns CRLF and lone CR into LF.
func normalizeBreaks(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\r", "\n")
}

// FuzzParseAddress checks that ParseAddress never panics, and that an
// address it accepts is valid and renders into a header that net/mail
// reads back to the same name and address.
// The seed corpus is in testdata/fuzz/FuzzParseAddress.
func FuzzParseAddress(f *testing.F) {
	for _, s := range []string{
		"ann@example.com", "Ann <ann@example.com>", `"Ann, B." <ann@example.com>`,
		"=?utf-8?q?J=C3=B6rg?= <j@example.com>", "用户@例子.广告", "postmaster@[192.0.2.1]",
		`"john doe"@example.com`, "a@b", "<@>", "x\r\n@y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddress(s)
		if err != nil {
			return
		}
		if err := a.Validate(); err != nil {
			t.Fatalf("ParseAddress(%q) = %+v, which does not validate: %v", s, a, err)
		}
		m := &Message{From: a, To: []Address{a}, Text: "x"}
		if err := m.Validate(); err != nil {
			// A parsed name may hold what a header cannot (NUL, bad UTF-8).
			if !strings.Contains(err.Error(), "display name") {
				t.Fatalf("ParseAddress(%q) = %+v, which Validate refuses: %v", s, a, err)
			}
			return
		}
		r, err := Render(m, renderNow)
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(r.Data))
		if err != nil {
			t.Fatalf("reading the rendered message: %v", err)
		}
		list, err := msg.Header.AddressList("To")
		if err != nil || len(list) != 1 {
			t.Fatalf("To %q does not parse: %v", msg.Header.Get("To"), err)
		}
		want, _ := mail.ParseAddress("<" + a.Addr + ">")
		if list[0].Name != a.Name || list[0].Address != want.Address {
			t.Errorf("%+v came back as %+v from %q", a, list[0], msg.Header.Get("To"))
		}
	})
}
