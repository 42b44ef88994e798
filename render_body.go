package outbox

import (
	"bytes"
	"encoding/base64"
	"mime"
	"path"
	"strings"
)

// Content-Transfer-Encodings of the parts Render writes.
const (
	cte7bit   = "7bit"
	cteQP     = "quoted-printable"
	cteBase64 = "base64"
)

// bodyWriter writes the MIME body of a structured message: the
// Content-Type of the top-level entity (still in the message header),
// then the parts.
type bodyWriter struct {
	h *headerWriter
	// rnd is the random part of every boundary of the message; each
	// multipart level adds its own letter, so no boundary is a prefix of
	// another and none can occur in base64 or quoted-printable text.
	rnd [16]byte
}

// Multipart levels, by the letter that ends their boundary.
const (
	levelMixed       = 'm'
	levelAlternative = 'a'
	levelRelated     = 'r'
)

// message writes the body of m.
func (w *bodyWriter) message(m *Message) {
	html := m.HTML != ""
	regular, inline := 0, 0
	for i := range m.Attachments {
		if html && m.Attachments[i].ContentID != "" {
			inline++
		} else {
			regular++
		}
	}
	if regular == 0 {
		w.alternative(m, inline > 0)
		return
	}
	w.begin("mixed", levelMixed)
	first := true
	if m.Text != "" || html {
		w.part(levelMixed, &first)
		w.alternative(m, inline > 0)
	}
	for i := range m.Attachments {
		if a := &m.Attachments[i]; !html || a.ContentID == "" {
			w.part(levelMixed, &first)
			w.attachment(a)
		}
	}
	w.end(levelMixed)
}

// alternative writes the text and HTML bodies: one of them alone, or both
// as multipart/alternative, text first.
func (w *bodyWriter) alternative(m *Message, related bool) {
	switch {
	case m.Text != "" && m.HTML != "":
		w.begin("alternative", levelAlternative)
		first := true
		w.part(levelAlternative, &first)
		w.text("text/plain", m.Text)
		w.part(levelAlternative, &first)
		w.html(m, related)
		w.end(levelAlternative)
	case m.HTML != "":
		w.html(m, related)
	default:
		w.text("text/plain", m.Text)
	}
}

// html writes the HTML body, inside a multipart/related with the inline
// attachments when there are any.
func (w *bodyWriter) html(m *Message, related bool) {
	if !related {
		w.text("text/html", m.HTML)
		return
	}
	w.begin(`related; type="text/html"`, levelRelated)
	first := true
	w.part(levelRelated, &first)
	w.text("text/html", m.HTML)
	for i := range m.Attachments {
		if a := &m.Attachments[i]; a.ContentID != "" {
			w.part(levelRelated, &first)
			w.attachment(a)
		}
	}
	w.end(levelRelated)
}

// begin writes the Content-Type of a multipart entity and ends its header.
func (w *bodyWriter) begin(subtype string, level byte) {
	b := w.h.b
	b.WriteString("Content-Type: multipart/")
	b.WriteString(subtype)
	b.WriteString(";\r\n boundary=\"")
	w.boundary(level)
	b.WriteString("\"\r\n\r\n")
}

// part starts a part of the multipart at level.
func (w *bodyWriter) part(level byte, first *bool) {
	b := w.h.b
	if !*first {
		b.WriteString("\r\n")
	}
	*first = false
	b.WriteString("--")
	w.boundary(level)
	b.WriteString("\r\n")
}

// end writes the close delimiter of the multipart at level.
func (w *bodyWriter) end(level byte) {
	b := w.h.b
	b.WriteString("\r\n--")
	w.boundary(level)
	b.WriteString("--\r\n")
}

// boundary writes the boundary of level: "=_" (which base64 and
// quoted-printable never produce), 26 random base32 digits, "_" and the
// level's letter.
func (w *bodyWriter) boundary(level byte) {
	var digits [26]byte
	encodeCrockford(&digits, &w.rnd)
	b := w.h.b
	b.WriteString("=_")
	b.Write(digits[:])
	b.WriteByte('_')
	b.WriteByte(level)
}

// text writes a text entity: its header and its body, encoded as
// textEncoding chooses.
func (w *bodyWriter) text(mediaType, s string) {
	b := w.h.b
	b.WriteString("Content-Type: ")
	b.WriteString(mediaType)
	b.WriteString("; charset=utf-8\r\nContent-Transfer-Encoding: ")
	cte := textEncoding(s)
	b.WriteString(cte)
	b.WriteString("\r\n\r\n")
	switch cte {
	case cte7bit:
		writeCRLF(b, s)
	case cteQP:
		writeQuotedPrintable(b, s)
	default:
		lw := base64Lines{b: b}
		forEachLine(s, func(line string, brk bool) {
			writeBase64(&lw, line)
			if brk {
				writeBase64(&lw, "\r\n")
			}
		})
		lw.flush()
	}
}

// attachment writes an attachment entity, base64 encoded (or 7bit for a
// message/rfc822 that already is 7bit data, as RFC 2046 asks).
func (w *bodyWriter) attachment(a *Attachment) {
	h := w.h
	mt, params := attachmentType(a)
	params["name"] = a.Filename
	h.field("Content-Type")
	h.text(mime.FormatMediaType(mt, params))
	h.end()
	disposition := "attachment"
	if a.ContentID != "" {
		disposition = "inline"
	}
	h.field("Content-Disposition")
	h.text(mime.FormatMediaType(disposition, map[string]string{"filename": a.Filename}))
	h.end()
	if a.ContentID != "" {
		h.field("Content-ID")
		h.tmp = append(append(append(h.tmp[:0], '<'), bareContentID(a.ContentID)...), '>')
		h.tokenBytes(h.tmp)
		h.end()
	}
	if strings.HasPrefix(mt, "message/") && is7bitCRLF(a.Content) {
		h.simple("Content-Transfer-Encoding", cte7bit)
		h.b.WriteString("\r\n")
		h.b.Write(a.Content)
		return
	}
	h.simple("Content-Transfer-Encoding", cteBase64)
	h.b.WriteString("\r\n")
	lw := base64Lines{b: h.b}
	writeBase64(&lw, a.Content)
	lw.flush()
}

// attachmentType returns the attachment's media type and parameters: its
// ContentType, else the type its filename's extension stands for, else
// application/octet-stream.
func attachmentType(a *Attachment) (string, map[string]string) {
	ct := a.ContentType
	if ct == "" {
		ct = mime.TypeByExtension(path.Ext(a.Filename))
	}
	if ct != "" {
		if mt, params, err := mime.ParseMediaType(ct); err == nil && !strings.HasPrefix(mt, "multipart/") {
			if params == nil {
				params = make(map[string]string, 1)
			}
			return mt, params
		}
	}
	return "application/octet-stream", make(map[string]string, 1)
}

// textEncoding chooses the Content-Transfer-Encoding of a text body: 7bit
// for ASCII without NUL in lines of at most 998 octets; base64 when more
// than a fifth of the bytes are non-ASCII (where quoted-printable would
// triple them); quoted-printable otherwise.
func textEncoding(s string) string {
	nonASCII, line, ok7bit := 0, 0, true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\n' || c == '\r':
			line = 0
			continue
		case c >= 0x80:
			nonASCII++
		case c == 0:
			ok7bit = false
		}
		line++
		if line > 998 {
			ok7bit = false
		}
	}
	switch {
	case nonASCII == 0 && ok7bit:
		return cte7bit
	case nonASCII*5 > len(s):
		return cteBase64
	default:
		return cteQP
	}
}

// forEachLine calls f for every line of s, without its line break; brk
// says whether a break (CRLF, LF or a lone CR) followed it.
func forEachLine(s string, f func(line string, brk bool)) {
	for len(s) > 0 {
		i := strings.IndexAny(s, "\r\n")
		if i < 0 {
			f(s, false)
			return
		}
		f(s[:i], true)
		if s[i] == '\r' && i+1 < len(s) && s[i+1] == '\n' {
			i++
		}
		s = s[i+1:]
	}
}

// writeCRLF writes s with every line break as CRLF.
func writeCRLF(b *bytes.Buffer, s string) {
	forEachLine(s, func(line string, brk bool) {
		b.WriteString(line)
		if brk {
			b.WriteString("\r\n")
		}
	})
}

// is7bitCRLF reports whether p is 7bit data as RFC 2045 defines it: ASCII
// without NUL, CR and LF only as CRLF, lines of at most 998 octets.
func is7bitCRLF(p []byte) bool {
	line := 0
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\r':
			if i+1 >= len(p) || p[i+1] != '\n' {
				return false
			}
			i++
			line = 0
			continue
		case c == '\n' || c == 0 || c >= 0x80:
			return false
		}
		line++
		if line > 998 {
			return false
		}
	}
	return true
}

// base64Lines encodes to base64 in lines of 76 characters.
type base64Lines struct {
	b   *bytes.Buffer
	in  [57]byte
	n   int
	out [76]byte
}

// writeBase64 adds p to the encoded output.
func writeBase64[T string | []byte](w *base64Lines, p T) {
	for len(p) > 0 {
		k := copy(w.in[w.n:], p)
		w.n += k
		p = p[k:]
		if w.n == len(w.in) {
			w.flush()
		}
	}
}

// flush encodes and writes the pending bytes as one line.
func (w *base64Lines) flush() {
	if w.n == 0 {
		return
	}
	n := base64.StdEncoding.EncodedLen(w.n)
	base64.StdEncoding.Encode(w.out[:n], w.in[:w.n])
	w.b.Write(w.out[:n])
	w.b.WriteString("\r\n")
	w.n = 0
}

// writeQuotedPrintable writes s quoted-printable (RFC 2045): line breaks
// become CRLF, lines are soft-broken before 76 columns, and blanks at the
// end of a line, '=', control and non-ASCII bytes are escaped.
func writeQuotedPrintable(b *bytes.Buffer, s string) {
	const hex = "0123456789ABCDEF"
	const width = 75 // characters before a soft break's '='
	col := 0
	forEachLine(s, func(line string, brk bool) {
		start := 0 // start of the pending run of literal bytes
		for i := 0; i < len(line); i++ {
			c := line[i]
			literal := c >= '!' && c <= '~' && c != '=' ||
				(c == ' ' || c == '\t') && i+1 < len(line)
			if literal {
				if col+1 > width {
					b.WriteString(line[start:i])
					b.WriteString("=\r\n")
					start, col = i, 0
				}
				col++
				continue
			}
			b.WriteString(line[start:i])
			if col+3 > width {
				b.WriteString("=\r\n")
				col = 0
			}
			b.WriteByte('=')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
			col += 3
			start = i + 1
		}
		b.WriteString(line[start:])
		if brk {
			b.WriteString("\r\n")
			col = 0
		}
	})
}
