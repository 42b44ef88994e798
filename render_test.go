package outbox

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strings"
	"testing"
	"time"
)

var renderNow = time.Date(2025, 3, 1, 12, 30, 45, 0, time.UTC)

// parsedMessage is a rendered message read back with net/mail and
// mime/multipart, as a receiving client would.
type parsedMessage struct {
	Header      mail.Header
	Text, HTML  string
	TextCTE     string
	HTMLCTE     string
	Attachments []parsedAttachment
	// Structure lists the media types of every entity, depth-first.
	Structure []string
}

type parsedAttachment struct {
	Filename, ContentType, ContentID, Disposition string
	Content                                       []byte
}

// parseRendered checks the wire format of data (CRLF only, lines within
// 998 octets, header lines within 78 unless long is allowed) and parses it.
func parseRendered(t testing.TB, data []byte) *parsedMessage {
	t.Helper()
	checkWireFormat(t, data)
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("net/mail cannot read the message: %v\n%s", err, data)
	}
	p := &parsedMessage{Header: msg.Header}
	walkEntity(t, p, msg.Header, msg.Body, 0)
	return p
}

// entityHeader is mail.Header or textproto.MIMEHeader.
type entityHeader interface{ Get(string) string }

func checkWireFormat(t testing.TB, data []byte) {
	t.Helper()
	for i, c := range data {
		if c == '\n' && (i == 0 || data[i-1] != '\r') {
			t.Fatalf("bare LF at offset %d", i)
		}
		if c == '\r' && (i+1 == len(data) || data[i+1] != '\n') {
			t.Fatalf("bare CR at offset %d", i)
		}
	}
	for n, line := range strings.Split(string(data), "\r\n") {
		if len(line) > 998 {
			t.Fatalf("line %d is %d octets long", n+1, len(line))
		}
	}
	if !bytes.HasSuffix(data, []byte("\r\n")) {
		t.Fatalf("the message does not end with CRLF")
	}
}

func walkEntity(t testing.TB, p *parsedMessage, h entityHeader, body io.Reader, depth int) {
	t.Helper()
	if depth > 5 {
		t.Fatalf("MIME nesting too deep")
	}
	ct := h.Get("Content-Type")
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		t.Fatalf("bad Content-Type %q: %v", ct, err)
	}
	p.Structure = append(p.Structure, mt)
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			part, err := mr.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("multipart %s: %v", mt, err)
			}
			walkEntity(t, p, part.Header, part, depth+1)
		}
	}
	cte := strings.ToLower(h.Get("Content-Transfer-Encoding"))
	var r io.Reader = body
	switch cte {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, body)
	case "quoted-printable":
		r = quotedprintable.NewReader(body)
	case "7bit", "8bit", "":
	default:
		t.Fatalf("unexpected Content-Transfer-Encoding %q", cte)
	}
	content, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decoding %s %s: %v", mt, cte, err)
	}
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	switch {
	case disp == "" && mt == "text/plain":
		p.Text, p.TextCTE = string(content), cte
	case disp == "" && mt == "text/html":
		p.HTML, p.HTMLCTE = string(content), cte
	default:
		p.Attachments = append(p.Attachments, parsedAttachment{
			Filename:    dparams["filename"],
			ContentType: h.Get("Content-Type"),
			ContentID:   h.Get("Content-Id"),
			Disposition: disp,
			Content:     content,
		})
	}
}

// crlfToLF turns the CRLF line breaks of a decoded text part back into LF.
func crlfToLF(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func mustRender(t testing.TB, m *Message) *Rendered {
	t.Helper()
	if err := m.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	r, err := Render(m, renderNow)
	if err != nil {
		t.Fatalf("Render: %v", err)
	}
	return r
}

func decodeHeader(t testing.TB, h mail.Header, name string) string {
	t.Helper()
	v, err := new(mime.WordDecoder).DecodeHeader(h.Get(name))
	if err != nil {
		t.Fatalf("decoding %s %q: %v", name, h.Get(name), err)
	}
	return v
}

func TestRenderTextOnly(t *testing.T) {
	m := &Message{
		From:    Address{Name: "Help Desk", Addr: "help@example.com"},
		To:      []Address{{Name: "Ann", Addr: "ann@example.org"}},
		Subject: "Ticket #42 created",
		Text:    "Hello Ann,\n\nyour ticket was created.\n",
	}
	r := mustRender(t, m)
	p := parseRendered(t, r.Data)

	if got := p.Header.Get("Date"); got != "Sat, 01 Mar 2025 12:30:45 +0000" {
		t.Errorf("Date = %q", got)
	}
	if d, err := p.Header.Date(); err != nil || !d.Equal(renderNow) {
		t.Errorf("Date parses as %v, %v", d, err)
	}
	if got := p.Header.Get("Message-Id"); got != r.MessageID || !strings.HasSuffix(got, "@example.com>") {
		t.Errorf("Message-ID = %q, Rendered.MessageID = %q", got, r.MessageID)
	}
	if got := p.Header.Get("Subject"); got != m.Subject {
		t.Errorf("Subject = %q", got)
	}
	if got := p.Header.Get("Mime-Version"); got != "1.0" {
		t.Errorf("MIME-Version = %q", got)
	}
	from, err := p.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Help Desk" || from[0].Address != "help@example.com" {
		t.Errorf("From = %v, %v", from, err)
	}
	if !slices.Equal(p.Structure, []string{"text/plain"}) || p.TextCTE != "7bit" {
		t.Errorf("structure %v, CTE %q; want a 7bit text/plain", p.Structure, p.TextCTE)
	}
	if got := crlfToLF(p.Text); got != m.Text {
		t.Errorf("text = %q, want %q", got, m.Text)
	}
	if r.From != "help@example.com" || r.Subject != m.Subject || !slices.Equal(r.Recipients, []string{"ann@example.org"}) {
		t.Errorf("Rendered = from %q subject %q recipients %v", r.From, r.Subject, r.Recipients)
	}
	// The fields come in the documented order.
	var names []string
	for _, line := range strings.Split(string(r.Data[:bytes.Index(r.Data, []byte("\r\n\r\n"))]), "\r\n") {
		if line[0] != ' ' {
			names = append(names, line[:strings.IndexByte(line, ':')])
		}
	}
	want := []string{"Date", "Message-ID", "From", "To", "Subject", "MIME-Version", "Content-Type", "Content-Transfer-Encoding"}
	if !slices.Equal(names, want) {
		t.Errorf("fields %v, want %v", names, want)
	}
}

func TestRenderRoundTrip(t *testing.T) {
	png := bytes.Repeat([]byte{0x89, 'P', 'N', 'G', 0, 0xff, '\r', '\n'}, 100)
	tests := []struct {
		name      string
		m         Message
		structure []string
	}{{
		name:      "html only",
		m:         Message{HTML: "<p>Hello <b>world</b></p>\n"},
		structure: []string{"text/html"},
	}, {
		name:      "text and html",
		m:         Message{Text: "Hello world\n", HTML: "<p>Hello world</p>"},
		structure: []string{"multipart/alternative", "text/plain", "text/html"},
	}, {
		name: "text and attachment",
		m: Message{Text: "See the report.", Attachments: []Attachment{
			{Filename: "report.pdf", Content: []byte("%PDF-1.4 fake")},
		}},
		structure: []string{"multipart/mixed", "text/plain", "application/pdf"},
	}, {
		name: "attachment only",
		m: Message{Attachments: []Attachment{
			{Filename: "data.bin", ContentType: "application/octet-stream", Content: png},
		}},
		structure: []string{"multipart/mixed", "application/octet-stream"},
	}, {
		name: "text, html, inline image and attachment",
		m: Message{
			Text: "Logo below.", HTML: `<p>Logo: <img src="cid:logo@example.com"></p>`,
			Attachments: []Attachment{
				{Filename: "logo.png", ContentType: "image/png", Content: png, ContentID: "logo@example.com"},
				{Filename: "Bericht März 2025.csv", ContentType: "text/csv; charset=utf-8", Content: []byte("a,b\r\n1,2\r\n")},
			},
		},
		structure: []string{
			"multipart/mixed", "multipart/alternative", "text/plain",
			"multipart/related", "text/html", "image/png", "text/csv",
		},
	}, {
		name: "inline image without html is an inline attachment",
		m: Message{Text: "x", Attachments: []Attachment{
			{Filename: "a.png", Content: png, ContentID: "<a@b>"},
		}},
		structure: []string{"multipart/mixed", "text/plain", "image/png"},
	}, {
		name:      "latin text is quoted-printable",
		m:         Message{Text: "Grüße aus Köln — à bientôt.\nLine two with trailing blank \n" + strings.Repeat("long line ", 30)},
		structure: []string{"text/plain"},
	}, {
		name:      "cyrillic text is base64",
		m:         Message{Text: "Привет, мир!\nЭто тестовое письмо.\n", HTML: "<p>Привет</p>"},
		structure: []string{"multipart/alternative", "text/plain", "text/html"},
	}, {
		name: "message/rfc822 attachment",
		m: Message{Text: "fwd", Attachments: []Attachment{
			{Filename: "fwd.eml", ContentType: "message/rfc822", Content: []byte("Subject: hi\r\n\r\nbody\r\n")},
			{Filename: "bad.eml", ContentType: "message/rfc822", Content: []byte("Subject: hi\n\nbody\n")},
		}},
		structure: []string{"multipart/mixed", "text/plain", "message/rfc822", "message/rfc822"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.m
			m.From = Address{Addr: "sender@example.com"}
			m.To = []Address{{Addr: "rcpt@example.org"}}
			m.Subject = "round trip"
			r := mustRender(t, &m)
			p := parseRendered(t, r.Data)
			if !slices.Equal(p.Structure, tt.structure) {
				t.Errorf("structure %v, want %v", p.Structure, tt.structure)
			}
			if got, want := crlfToLF(p.Text), m.Text; got != want && got != want+"\n" {
				t.Errorf("text = %q, want %q", got, want)
			}
			if got, want := crlfToLF(p.HTML), m.HTML; got != want && got != want+"\n" {
				t.Errorf("html = %q, want %q", got, want)
			}
			if len(p.Attachments) != len(m.Attachments) {
				t.Fatalf("%d attachments, want %d", len(p.Attachments), len(m.Attachments))
			}
			for i, a := range m.Attachments {
				got := p.Attachments[i]
				if got.Filename != a.Filename {
					t.Errorf("attachment %d filename %q, want %q", i, got.Filename, a.Filename)
				}
				if !bytes.Equal(got.Content, a.Content) {
					t.Errorf("attachment %d content differs: %q", i, got.Content)
				}
				if a.ContentID != "" {
					if want := "<" + bareContentID(a.ContentID) + ">"; got.ContentID != want || got.Disposition != "inline" {
						t.Errorf("attachment %d Content-ID %q disposition %q, want %q inline", i, got.ContentID, got.Disposition, want)
					}
				} else if got.Disposition != "attachment" {
					t.Errorf("attachment %d disposition %q", i, got.Disposition)
				}
			}
		})
	}
}

func TestRenderAttachmentTypes(t *testing.T) {
	m := &Message{
		From: Address{Addr: "a@example.com"}, To: []Address{{Addr: "b@example.com"}}, Text: "x",
		Attachments: []Attachment{
			{Filename: "photo.JPG", Content: []byte{1}},
			{Filename: "noext", Content: []byte{2}},
			{Filename: "notes.txt", ContentType: "text/plain; charset=iso-8859-1", Content: []byte{3}},
		},
	}
	p := parseRendered(t, mustRender(t, m).Data)
	for i, want := range []string{"image/jpeg", "application/octet-stream", "text/plain"} {
		mt, params, err := mime.ParseMediaType(p.Attachments[i].ContentType)
		if err != nil || mt != want || params["name"] != m.Attachments[i].Filename {
			t.Errorf("attachment %d Content-Type %q, want %s with name=%q", i, p.Attachments[i].ContentType, want, m.Attachments[i].Filename)
		}
	}
	if _, params, _ := mime.ParseMediaType(p.Attachments[2].ContentType); params["charset"] != "iso-8859-1" {
		t.Errorf("the caller's charset parameter was lost: %q", p.Attachments[2].ContentType)
	}
}

func TestRenderTransferEncodings(t *testing.T) {
	tests := []struct{ text, cte string }{
		{"plain ascii\nshort lines\n", "7bit"},
		{strings.Repeat("x", 998), "7bit"},
		{strings.Repeat("x", 999), "quoted-printable"},
		{"un café au lait, s'il vous plaît", "quoted-printable"},
		{"nul \x00 byte", "quoted-printable"},
		{"日本語のテキストです。", "base64"},
	}
	for _, tt := range tests {
		m := &Message{From: Address{Addr: "a@example.com"}, To: []Address{{Addr: "b@example.com"}}, Text: tt.text}
		p := parseRendered(t, mustRender(t, m).Data)
		if p.TextCTE != tt.cte {
			t.Errorf("%.20q: Content-Transfer-Encoding %q, want %q", tt.text, p.TextCTE, tt.cte)
		}
		if got := crlfToLF(p.Text); got != tt.text && got != tt.text+"\n" {
			t.Errorf("%.20q: decoded text %.40q", tt.text, got)
		}
	}
}

func TestRenderQuotedPrintableLines(t *testing.T) {
	text := strings.Repeat("é", 200) + " \n" + strings.Repeat("a=b ", 60) + "\t"
	m := &Message{From: Address{Addr: "a@example.com"}, To: []Address{{Addr: "b@example.com"}}, Text: text}
	r := mustRender(t, m)
	body := r.Data[bytes.Index(r.Data, []byte("\r\n\r\n"))+4:]
	for _, line := range strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n") {
		if len(line) > 76 {
			t.Errorf("quoted-printable line of %d characters: %q", len(line), line)
		}
		if strings.HasSuffix(line, " ") || strings.HasSuffix(line, "\t") {
			t.Errorf("quoted-printable line ends in a blank: %q", line)
		}
	}
	if got := strings.TrimSuffix(crlfToLF(parseRendered(t, r.Data).Text), "\n"); got != text {
		t.Errorf("decoded text differs:\n%q\n%q", got, text)
	}
}

func TestRenderHeaders(t *testing.T) {
	m := &Message{
		From: Address{Name: "Jörg Müller", Addr: "jorg@example.com"},
		To: []Address{
			{Name: `Alice "the admin", Ops`, Addr: "alice@example.com"},
			{Addr: "bob@example.org"},
			{Name: "用户", Addr: "用户@例子.广告"},
		},
		Cc:      []Address{{Name: "Carol", Addr: "carol@example.net"}},
		Bcc:     []Address{{Addr: "secret@example.com"}},
		ReplyTo: []Address{{Name: "Support", Addr: "support@example.com"}},
		Subject: "Größenänderung der Datenbank — bitte prüfen Sie die Einstellungen, bevor Sie fortfahren ✓",
		Headers: map[string]string{
			"X-Campaign":       "spring-2025",
			"X-Note":           "Ça marche très bien",
			"List-Unsubscribe": "<https://example.com/unsubscribe?id=1234567890abcdef>, <mailto:unsubscribe@example.com?subject=1234567890abcdef>",
		},
		Text: "x",
	}
	r := mustRender(t, m)
	p := parseRendered(t, r.Data)
	head := string(r.Data[:bytes.Index(r.Data, []byte("\r\n\r\n"))])
	for _, line := range strings.Split(head, "\r\n") {
		if len(line) > 78 {
			t.Errorf("header line of %d octets: %q", len(line), line)
		}
	}
	if strings.Contains(head, "secret@example.com") || p.Header.Get("Bcc") != "" {
		t.Errorf("Bcc leaked into the header:\n%s", head)
	}
	if got := decodeHeader(t, p.Header, "Subject"); got != m.Subject {
		t.Errorf("Subject = %q", got)
	}
	for field, want := range map[string][]Address{"From": {m.From}, "To": m.To, "Cc": m.Cc, "Reply-To": m.ReplyTo} {
		got, err := p.Header.AddressList(field)
		if err != nil {
			t.Fatalf("%s: %v (%q)", field, err, p.Header.Get(field))
		}
		if len(got) != len(want) {
			t.Fatalf("%s = %v, want %v", field, got, want)
		}
		for i := range want {
			if got[i].Name != want[i].Name || got[i].Address != want[i].Addr {
				t.Errorf("%s[%d] = %q <%s>, want %q <%s>", field, i, got[i].Name, got[i].Address, want[i].Name, want[i].Addr)
			}
		}
	}
	for k, v := range m.Headers {
		if got := decodeHeader(t, p.Header, k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	// Extra headers come in sorted order after MIME-Version.
	if i, j, k := strings.Index(head, "\r\nList-Unsubscribe:"), strings.Index(head, "\r\nX-Campaign:"), strings.Index(head, "\r\nX-Note:"); !(strings.Index(head, "MIME-Version") < i && i < j && j < k) {
		t.Errorf("extra headers out of order:\n%s", head)
	}
	want := []string{"alice@example.com", "bob@example.org", "用户@例子.广告", "carol@example.net", "secret@example.com"}
	if !slices.Equal(r.Recipients, want) {
		t.Errorf("Recipients = %v, want %v", r.Recipients, want)
	}
}

func TestRenderTrickySubjects(t *testing.T) {
	for _, s := range []string{
		"=?utf-8?q?not_an_encoded_word?=",
		"  leading and trailing blanks  ",
		"tab\tinside",
		"double  spaces  kept",
		strings.Repeat("averyveryverylongwordwithoutanyspace", 40),
		strings.Repeat("word ", 300),
		"emoji 🎉🎉🎉 " + strings.Repeat("ü", 100),
		"ctrl \x01\x7f chars",
		"_ ? = underscores and question marks",
	} {
		m := &Message{From: Address{Addr: "a@example.com"}, To: []Address{{Addr: "b@example.com"}}, Subject: s, Text: "x"}
		r := mustRender(t, m)
		p := parseRendered(t, r.Data)
		if got := decodeHeader(t, p.Header, "Subject"); got != s {
			t.Errorf("Subject %q came back as %q", s, got)
		}
		for _, line := range strings.Split(string(r.Data[:bytes.Index(r.Data, []byte("\r\n\r\n"))]), "\r\n") {
			if len(line) > 78 {
				t.Errorf("Subject %.30q: header line of %d octets", s, len(line))
			}
		}
	}
}

func TestRenderLongDisplayNames(t *testing.T) {
	to := []Address{
		{Name: strings.Repeat("x", 300), Addr: "x@example.com"},
		{Name: strings.Repeat("Ö", 100), Addr: "o@example.com"},
		{Name: `back\slash "quote"`, Addr: "q@example.com"},
		{Name: " padded ", Addr: "p@example.com"},
	}
	m := &Message{From: Address{Addr: "a@example.com"}, To: to, Text: "x"}
	p := parseRendered(t, mustRender(t, m).Data)
	got, err := p.Header.AddressList("To")
	if err != nil || len(got) != len(to) {
		t.Fatalf("To = %v, %v", got, err)
	}
	for i := range to {
		if got[i].Name != to[i].Name || got[i].Address != to[i].Addr {
			t.Errorf("To[%d] = %q <%s>, want %q <%s>", i, got[i].Name, got[i].Address, to[i].Name, to[i].Addr)
		}
	}
}

func TestRenderMessageID(t *testing.T) {
	base := Message{To: []Address{{Addr: "b@example.com"}}, Text: "x"}
	m := base
	m.From, m.MessageID = Address{Addr: "a@example.com"}, "<given.1@example.com>"
	if r := mustRender(t, &m); r.MessageID != m.MessageID || !bytes.Contains(r.Data, []byte("\r\nMessage-ID: <given.1@example.com>\r\n")) {
		t.Errorf("the given Message-ID was not used: %q", r.MessageID)
	}
	for from, domain := range map[string]string{
		"a@Mail.Example.com": "@Mail.Example.com>",
		"a@[192.0.2.1]":      "@localhost>",
		"a@例子.广告":            "@localhost>",
	} {
		m := base
		m.From = Address{Addr: from}
		if r := mustRender(t, &m); !strings.HasSuffix(r.MessageID, domain) || badMessageID(r.MessageID) != "" {
			t.Errorf("from %s: Message-ID %q, want one ending in %s", from, r.MessageID, domain)
		}
	}
}

func TestRenderRecipientsDeduplicated(t *testing.T) {
	m := &Message{
		From: Address{Addr: "a@example.com"},
		To:   []Address{{Addr: "x@example.com"}, {Addr: "y@example.com"}, {Addr: "x@EXAMPLE.com"}},
		Cc:   []Address{{Addr: "y@Example.Com"}, {Addr: "z@example.com"}},
		Bcc:  []Address{{Addr: "X@example.com"}, {Addr: "z@example.com"}},
		Text: "x",
	}
	// The local part's case belongs to the receiving host (RFC 5321), so
	// X@ and x@ stay two recipients; the domain's case never matters.
	want := []string{"x@example.com", "y@example.com", "z@example.com", "X@example.com"}
	if got := mustRender(t, m).Recipients; !slices.Equal(got, want) {
		t.Errorf("Recipients = %v, want %v", got, want)
	}
	// The same with a list long enough to take the map path.
	var many []Address
	for i := range 40 {
		many = append(many, Address{Addr: string(rune('a'+i%20)) + "@Example.com"})
	}
	m.To, m.Cc, m.Bcc = many, many[:3], []Address{{Addr: "a@example.COM"}}
	if got := mustRender(t, m).Recipients; len(got) != 20 || got[0] != "a@Example.com" {
		t.Errorf("Recipients = %v, want the 20 distinct addresses in order", got)
	}
}

func TestRenderRaw(t *testing.T) {
	env := func(raw string) *Message {
		return &Message{From: Address{Addr: "bounce@example.com"}, To: []Address{{Addr: "rcpt@example.org"}, {Addr: "rcpt@EXAMPLE.org"}}, Raw: []byte(raw)}
	}
	t.Run("byte-exact when complete", func(t *testing.T) {
		raw := "Date: Fri, 28 Feb 2025 10:00:00 +0100\r\nMessage-ID:  <orig@example.com> \r\nFrom: a@example.com\r\n" +
			"Subject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\n  aus Berlin\r\n\r\nbody\r\n.\r\nend"
		m := env(raw)
		r := mustRender(t, m)
		if string(r.Data) != raw {
			t.Errorf("data changed:\n%q\n%q", r.Data, raw)
		}
		if &r.Data[0] == &m.Raw[0] {
			t.Errorf("Rendered.Data aliases Message.Raw")
		}
		if r.MessageID != "<orig@example.com>" || r.Subject != "Grüße aus Berlin" || r.From != "bounce@example.com" {
			t.Errorf("Rendered = id %q subject %q from %q", r.MessageID, r.Subject, r.From)
		}
		if !slices.Equal(r.Recipients, []string{"rcpt@example.org"}) {
			t.Errorf("Recipients = %v", r.Recipients)
		}
	})
	t.Run("message-id and date added", func(t *testing.T) {
		raw := "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n"
		r := mustRender(t, env(raw))
		want := "Date: Sat, 01 Mar 2025 12:30:45 +0000\r\nMessage-ID: " + r.MessageID + "\r\n" + raw
		if string(r.Data) != want {
			t.Errorf("data =\n%q\nwant\n%q", r.Data, want)
		}
		if !strings.HasSuffix(r.MessageID, "@example.com>") || badMessageID(r.MessageID) != "" {
			t.Errorf("MessageID = %q", r.MessageID)
		}
		if r.Subject != "hi" {
			t.Errorf("Subject = %q", r.Subject)
		}
	})
	t.Run("body straight after the header", func(t *testing.T) {
		// A script's "Subject:" line followed by its text: the text is the
		// body, and gets the empty line before it. A line with a colon
		// whose "name" has blanks is body too.
		for _, tc := range []struct{ raw, header, body string }{
			{"Date: Sat, 01 Mar 2025 12:30:45 +0000\nMessage-ID: <a@example.com>\nSubject: Alert\nDisk full on /var\n",
				"Date: Sat, 01 Mar 2025 12:30:45 +0000\r\nMessage-ID: <a@example.com>\r\nSubject: Alert\r\n", "Disk full on /var\r\n"},
			{"Date: Sat, 01 Mar 2025 12:30:45 +0000\r\nMessage-ID: <a@example.com>\r\nSubject: Alert\r\n  folded\r\nDisk /var: 100% full\r\n",
				"Date: Sat, 01 Mar 2025 12:30:45 +0000\r\nMessage-ID: <a@example.com>\r\nSubject: Alert\r\n  folded\r\n", "Disk /var: 100% full\r\n"},
		} {
			m := env(tc.raw)
			if err := m.Validate(); err != nil {
				t.Errorf("%q: %v", tc.raw, err)
				continue
			}
			r := mustRender(t, m)
			if want := tc.header + "\r\n" + tc.body; string(r.Data) != want {
				t.Errorf("data =\n%q\nwant\n%q", r.Data, want)
			}
		}
		// A header that runs to the end of the data needs no empty line.
		raw := "Date: Sat, 01 Mar 2025 12:30:45 +0000\r\nMessage-ID: <a@example.com>\r\nSubject: none"
		if r := mustRender(t, env(raw)); string(r.Data) != raw {
			t.Errorf("data =\n%q\nwant\n%q", r.Data, raw)
		}
	})
	t.Run("added below the Received fields", func(t *testing.T) {
		trace := "Received: from a.example.com\r\n\tby b.example.com; Sat, 01 Mar 2025 12:30:40 +0000\r\n" +
			"received: from c.example.com by a.example.com; Sat, 01 Mar 2025 12:30:30 +0000\r\n"
		rest := "From: a@example.com\r\nReceived: from late\r\nSubject: hi\r\n\r\nbody\n"
		r := mustRender(t, env(trace+rest))
		want := trace + "Date: Sat, 01 Mar 2025 12:30:45 +0000\r\nMessage-ID: " + r.MessageID + "\r\n" +
			strings.TrimSuffix(rest, "\n") + "\r\n"
		if string(r.Data) != want {
			t.Errorf("data =\n%q\nwant\n%q", r.Data, want)
		}
		// A leading continuation line, or a bare LF, ends nothing early.
		for _, raw := range []string{" folded\r\nFrom: a@example.com\r\n\r\nbody\r\n", "Received: x\nFrom: a@example.com\r\n\r\nbody\r\n"} {
			if got := traceLength([]byte(raw)); got != 0 {
				t.Errorf("traceLength(%q) = %d, want 0", raw, got)
			}
		}
	})
	t.Run("given message-id used when missing", func(t *testing.T) {
		m := env("Date: Fri, 28 Feb 2025 10:00:00 +0100\r\nSubject: hi\r\n\r\nbody\r\n")
		m.MessageID = "<mine@example.com>"
		r := mustRender(t, m)
		if r.MessageID != m.MessageID || !bytes.HasPrefix(r.Data, []byte("Message-ID: <mine@example.com>\r\nDate: Fri")) {
			t.Errorf("MessageID %q, data %q", r.MessageID, r.Data)
		}
	})
	t.Run("null sender takes the From field's domain", func(t *testing.T) {
		m := env("From: Mailer <mailer@lists.example.net>\r\nDate: Fri, 28 Feb 2025 10:00:00 +0100\r\n\r\n")
		m.From = Address{}
		r := mustRender(t, m)
		if !strings.HasSuffix(r.MessageID, "@lists.example.net>") || r.From != "" {
			t.Errorf("MessageID %q from %q", r.MessageID, r.From)
		}
	})
	t.Run("bare LF normalised", func(t *testing.T) {
		raw := "Message-ID: <a@b>\nDate: Fri, 28 Feb 2025 10:00:00 +0100\nSubject: x\n\nline 1\nline 2\r\nline 3\rstill 3\n"
		r := mustRender(t, env(raw))
		want := "Message-ID: <a@b>\r\nDate: Fri, 28 Feb 2025 10:00:00 +0100\r\nSubject: x\r\n\r\nline 1\r\nline 2\r\nline 3\rstill 3\r\n"
		if string(r.Data) != want {
			t.Errorf("data =\n%q\nwant\n%q", r.Data, want)
		}
	})
	t.Run("header only", func(t *testing.T) {
		raw := "Message-ID: <a@b>\r\nDate: Fri, 28 Feb 2025 10:00:00 +0100"
		if r := mustRender(t, env(raw)); string(r.Data) != raw {
			t.Errorf("data = %q", r.Data)
		}
	})
	t.Run("undecodable subject kept", func(t *testing.T) {
		r := mustRender(t, env("Subject: =?x-unknown?q?abc?=\r\n\r\n"))
		if r.Subject != "=?x-unknown?q?abc?=" {
			t.Errorf("Subject = %q", r.Subject)
		}
	})
}

func benchMessage(attachments bool) *Message {
	m := &Message{
		From:    Address{Name: "Help Desk", Addr: "help@example.com"},
		To:      []Address{{Name: "Ann Example", Addr: "ann@example.org"}},
		Subject: "Your ticket #12345 was created",
		Text:    strings.Repeat("Thank you for contacting us. We will answer within one day.\n", 15),
		Headers: map[string]string{"X-Ticket": "12345"},
	}
	if attachments {
		m.Subject = "Votre facture n° 12345 — merci"
		m.HTML = "<html><body>" + strings.Repeat("<p>Thank you for contacting us. We will answer within one day.</p>\n", 15) + "</body></html>"
		m.Attachments = []Attachment{{Filename: "facture-12345.pdf", Content: bytes.Repeat([]byte("%PDF binary \x00\xff"), 2048)}}
	}
	return m
}

// BenchmarkRenderText renders a 1 KB plain-text notification.
func BenchmarkRenderText(b *testing.B) {
	m := benchMessage(false)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(m, renderNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderMultipart renders text + HTML + a 28 KB attachment with a
// non-ASCII subject: multipart/mixed around multipart/alternative.
func BenchmarkRenderMultipart(b *testing.B) {
	m := benchMessage(true)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(m, renderNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidateText validates the message of BenchmarkRenderText.
func BenchmarkValidateText(b *testing.B) {
	m := benchMessage(false)
	b.ReportAllocs()
	for b.Loop() {
		if err := m.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderRaw renders a raw message that lacks a Message-ID.
func BenchmarkRenderRaw(b *testing.B) {
	raw := []byte("From: a@example.com\r\nTo: b@example.com\r\nSubject: hello\r\nDate: Fri, 28 Feb 2025 10:00:00 +0100\r\n\r\n" +
		strings.Repeat("Thank you for contacting us. We will answer within one day.\r\n", 15))
	m := &Message{From: Address{Addr: "a@example.com"}, To: []Address{{Addr: "b@example.com"}}, Raw: raw}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Render(m, renderNow); err != nil {
			b.Fatal(err)
		}
	}
}

// TestRenderRefusesInjectionWithoutValidate checks that a message that
// skipped Validate still cannot add header fields.
func TestRenderRefusesInjectionWithoutValidate(t *testing.T) {
	for name, edit := range map[string]func(m *Message){
		"to address":  func(m *Message) { m.To[0].Addr = "b@example.com>\r\nBcc: <x@evil.example" },
		"header name": func(m *Message) { m.Headers = map[string]string{"X-A\r\nBcc": "x"} },
		"message id":  func(m *Message) { m.MessageID = "<a@b>\r\nBcc: x@evil.example" },
		"content id": func(m *Message) {
			m.Attachments = []Attachment{{Filename: "a", ContentID: "a\r\nX: y"}}
		},
	} {
		m := &Message{From: Address{Addr: "a@example.com"}, To: []Address{{Addr: "b@example.com"}}, Text: "x"}
		edit(m)
		if _, err := Render(m, renderNow); err == nil {
			t.Errorf("%s: Render accepted a line break", name)
		}
	}
	// Text fields are encoded, so line breaks in them stay inside the field.
	m := &Message{
		From:    Address{Name: "A\r\nBcc: x@evil.example", Addr: "a@example.com"},
		To:      []Address{{Addr: "b@example.com"}},
		Subject: "s\r\nBcc: x@evil.example", Headers: map[string]string{"X-A": "v\r\nBcc: x@evil.example"},
		Text: "x",
	}
	r, err := Render(m, renderNow)
	if err != nil {
		t.Fatal(err)
	}
	if p := parseRendered(t, r.Data); p.Header.Get("Bcc") != "" {
		t.Errorf("a Bcc field was injected:\n%s", r.Data)
	}
}
