package console

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/outboxmail/outbox"
)

// separator starts every message's block.
const separator = "------------------------------------------------------------------------\n"

// maxDepth bounds the nesting of multiparts that format descends into.
const maxDepth = 10

// formatRaw writes the envelope and then e.Data as it is.
func formatRaw(buf *bytes.Buffer, e *outbox.Envelope) {
	formatEnvelope(buf, e)
	buf.WriteByte('\n')
	buf.Write(e.Data)
	if !bytes.HasSuffix(e.Data, []byte("\n")) {
		buf.WriteByte('\n')
	}
}

// formatEnvelope writes the separator, the queue id, the Message-ID and
// the envelope.
func formatEnvelope(buf *bytes.Buffer, e *outbox.Envelope) {
	buf.WriteString(separator)
	line(buf, "Queue ID", strconv.FormatInt(e.ID, 10))
	line(buf, "Message-ID", e.MessageID)
	var env strings.Builder
	env.WriteString("from <" + e.From + "> to ")
	for i, to := range e.To {
		if i > 0 {
			env.WriteString(", ")
		}
		env.WriteString("<" + to + ">")
	}
	line(buf, "Envelope", env.String())
	if e.UTF8 {
		line(buf, "SMTPUTF8", "required")
	}
}

// format writes a readable summary of e: envelope, decoded header fields,
// the text body, the attachments.
func format(buf *bytes.Buffer, e *outbox.Envelope) {
	formatEnvelope(buf, e)
	msg, err := mail.ReadMessage(bytes.NewReader(e.Data))
	if err != nil {
		fmt.Fprintf(buf, "\n[the message does not parse (%v); its bytes follow]\n", err)
		writeText(buf, string(e.Data))
		return
	}
	dec := new(mime.WordDecoder)
	for _, name := range []string{"From", "To", "Cc", "Reply-To", "Subject", "Date"} {
		if v := msg.Header.Get(name); v != "" {
			if d, err := dec.DecodeHeader(v); err == nil {
				v = d
			}
			line(buf, name, v)
		}
	}
	buf.WriteByte('\n')

	var c content
	c.walk(textproto.MIMEHeader(msg.Header), msg.Body, 0)
	switch {
	case c.hasText:
		writeText(buf, c.text)
	case c.hasHTML:
		buf.WriteString("[no text part; the HTML part with its tags stripped:]\n\n")
		writeText(buf, stripHTML(c.html))
	default:
		buf.WriteString("[no text body]\n")
	}
	for _, n := range c.notes {
		buf.WriteString("[" + clean(n) + "]\n")
	}
	if len(c.attachments) > 0 {
		buf.WriteString("\nAttachments:\n")
		for _, a := range c.attachments {
			name := a.name
			if name == "" {
				name = "(no name)"
			}
			kind := a.mediaType
			if a.inline {
				kind += ", inline"
			}
			fmt.Fprintf(buf, "  - %s (%s, %s)\n", clean(name), clean(kind), size(a.size))
		}
	}
}

// line writes "Label: value" with the values aligned at column 12.
func line(buf *bytes.Buffer, label, value string) {
	buf.WriteString(label)
	buf.WriteByte(':')
	buf.WriteString(strings.Repeat(" ", max(1, 11-len(label))))
	buf.WriteString(clean(value))
	buf.WriteByte('\n')
}

// writeText writes a body: line breaks as LF, terminal controls escaped,
// ending with a line break.
func writeText(buf *bytes.Buffer, s string) {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	for l := range strings.Lines(s) {
		buf.WriteString(clean(strings.TrimSuffix(l, "\n")))
		buf.WriteByte('\n')
	}
}

// clean makes s safe to print on a terminal: invalid UTF-8 becomes U+FFFD
// and control characters other than tab (C0, DEL, C1, which include the
// escape sequences that drive terminals) are shown as Go escapes.
func clean(s string) string {
	needs := false
	for _, r := range s {
		if isControl(r) || r == utf8.RuneError {
			needs = true
			break
		}
	}
	if !needs {
		return s
	}
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		if isControl(r) {
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isControl(r rune) bool {
	return r < 0x20 && r != '\t' || r >= 0x7f && r < 0xa0
}

// size formats a byte count.
func size(n int) string {
	switch {
	case n < 1024:
		return strconv.Itoa(n) + " bytes"
	case n < 1024*1024:
		return strconv.FormatFloat(float64(n)/1024, 'f', 1, 64) + " KiB"
	default:
		return strconv.FormatFloat(float64(n)/(1024*1024), 'f', 1, 64) + " MiB"
	}
}

// content is what format shows of a message's body.
type content struct {
	text, html       string
	hasText, hasHTML bool
	attachments      []attachment
	notes            []string
}

type attachment struct {
	name, mediaType string
	size            int
	inline          bool
}

// walk visits an entity: it descends into multiparts and keeps the first
// text/plain and text/html bodies; every other leaf is an attachment.
func (c *content) walk(h textproto.MIMEHeader, body io.Reader, depth int) {
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		mt, params = "text/plain", nil // RFC 2045's default
	}
	if strings.HasPrefix(mt, "multipart/") {
		if depth >= maxDepth {
			c.notes = append(c.notes, "multiparts nested too deep; inner parts not shown")
			return
		}
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return
			}
			if err != nil {
				c.notes = append(c.notes, "a "+mt+" part does not parse: "+err.Error())
				return
			}
			c.walk(p.Header, p, depth+1)
		}
	}
	data, err := decodeTransfer(h.Get("Content-Transfer-Encoding"), body)
	if err != nil {
		c.notes = append(c.notes, "a "+mt+" part does not decode: "+err.Error())
	}
	disposition, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	if d, err := new(mime.WordDecoder).DecodeHeader(name); err == nil {
		name = d
	}
	isBody := disposition != "attachment" && name == ""
	switch {
	case isBody && mt == "text/plain" && !c.hasText:
		c.text, c.hasText = c.decodeCharset(data, params["charset"]), true
	case isBody && mt == "text/html" && !c.hasHTML:
		c.html, c.hasHTML = c.decodeCharset(data, params["charset"]), true
	default:
		c.attachments = append(c.attachments, attachment{
			name: name, mediaType: mt, size: len(data), inline: disposition == "inline",
		})
	}
}

// decodeTransfer undoes a Content-Transfer-Encoding.
func decodeTransfer(cte string, r io.Reader) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(cte)) {
	case "base64":
		r = base64.NewDecoder(base64.StdEncoding, r)
	case "quoted-printable":
		r = quotedprintable.NewReader(r)
	}
	return io.ReadAll(r)
}

// decodeCharset returns text in a charset as UTF-8: UTF-8 and US-ASCII as
// they are, ISO-8859-1 converted; anything else as it is, with a note.
func (c *content) decodeCharset(data []byte, charset string) string {
	switch strings.ToLower(charset) {
	case "", "utf-8", "utf8", "us-ascii", "ascii":
		return string(data)
	case "iso-8859-1", "latin1", "latin-1", "windows-1252", "cp1252":
		r := make([]rune, len(data))
		for i, b := range data {
			r[i] = rune(b)
		}
		return string(r)
	default:
		c.notes = append(c.notes, "charset "+charset+" shown undecoded")
		return string(data)
	}
}
