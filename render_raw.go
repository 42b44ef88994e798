package outbox

import (
	"bytes"
	"mime"
	"net/mail"
	"slices"
	"strings"
	"time"
)

// renderRaw renders a raw message. The bytes are kept as they are, with
// these exceptions:
//
//   - a bare LF (one not preceded by CR) becomes CRLF, in the header and
//     the body alike, because SMTP requires CRLF line endings and many
//     programs (sendmail callers, scripts) write LF; existing CRLFs and
//     every other byte are kept;
//   - a body that follows the header without the empty line between
//     them (see headerEnd) gets that line, as sendmail and Postfix add it;
//   - when the header has no Message-ID field, "Message-ID: <id>" is
//     added at the top, below any Received fields (m.MessageID, or a new
//     id on the envelope sender's domain, else the From field's); when it
//     has no Date field, "Date: <now>" is added there.
//
// Rendered.MessageID is the message's own Message-ID when it has one,
// and Rendered.Subject its Subject field, RFC 2047-decoded.
func renderRaw(m *Message, now time.Time) (*Rendered, error) {
	if len(m.Raw) == 0 {
		return nil, fieldErrorf("raw", "empty message")
	}
	raw := m.Raw
	if end, blank := headerEnd(raw); !blank && end < len(raw) {
		raw = slices.Concat(raw[:end], []byte("\r\n"), raw[end:])
	}
	h := scanRawHeader(raw)
	r := &Rendered{
		From:       m.From.Addr,
		Recipients: envelopeRecipients(m.To),
		Subject:    decodeHeaderText(h.subject),
		MessageID:  h.messageID,
	}
	if !h.hasMessageID {
		r.MessageID = m.MessageID
		if r.MessageID == "" {
			r.MessageID = newMessageID(rawDomain(m, h.from), now)
		}
	}

	bareLF := 0
	for i, c := range raw {
		if c == '\n' && (i == 0 || raw[i-1] != '\r') {
			bareLF++
		}
	}
	out := make([]byte, 0, len(raw)+bareLF+len(r.MessageID)+64)
	// Trace fields stay on top (RFC 5321 section 4.4): what is added goes
	// after them.
	trace := traceLength(raw)
	out = append(out, raw[:trace]...)
	if !h.hasDate {
		out = append(out, "Date: "...)
		out = now.AppendFormat(out, time.RFC1123Z)
		out = append(out, "\r\n"...)
	}
	if !h.hasMessageID {
		out = append(out, "Message-ID: "...)
		out = append(out, r.MessageID...)
		out = append(out, "\r\n"...)
	}
	rest := raw[trace:]
	if bareLF == 0 {
		out = append(out, rest...)
	} else {
		start := 0
		for i, c := range rest {
			if c == '\n' && (i == 0 || rest[i-1] != '\r') {
				out = append(out, rest[start:i]...)
				out = append(out, '\r', '\n')
				start = i + 1
			}
		}
		out = append(out, rest[start:]...)
	}
	r.Data = out
	return r, nil
}

// traceLength returns the length of the Received fields (with their
// continuation lines) at the top of raw, all ending in CRLF: the SMTP
// listener's own, and those of the hops before it.
func traceLength(raw []byte) int {
	n := 0
	for {
		line, _, ok := bytes.Cut(raw[n:], []byte("\r\n"))
		if !ok || bytes.IndexByte(line, '\n') >= 0 {
			return n
		}
		folded := len(line) > 0 && (line[0] == ' ' || line[0] == '\t')
		if !folded && !hasFieldName(line, "Received") || folded && n == 0 {
			return n
		}
		n += len(line) + 2
	}
}

// hasFieldName reports whether line starts the field name.
func hasFieldName(line []byte, name string) bool {
	got, _, ok := splitField(line)
	return ok && strings.EqualFold(got, name)
}

// splitField splits a header line at its colon: the field name (blanks
// before the colon trimmed) and the rest; ok is false for a line that is
// no field.
func splitField(line []byte) (name string, value []byte, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return "", nil, false
	}
	return string(bytes.TrimRight(line[:colon], " \t")), line[colon+1:], true
}

// rawHeader holds what renderRaw needs from a raw message's header.
type rawHeader struct {
	hasMessageID, hasDate, hasSubject, hasFrom bool
	// messageID, subject and from are the first such fields' values,
	// unfolded and trimmed.
	messageID, subject, from string
}

// scanRawHeader reads the header block of raw (up to the first empty line
// or the end), unfolding the values it keeps as net/textproto does. Lines
// that are not fields are skipped: renderRaw has ended the header before
// the first one.
func scanRawHeader(raw []byte) rawHeader {
	var h rawHeader
	var cur *string // the kept field being unfolded
	for len(raw) > 0 {
		line := raw
		next := len(raw)
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			line, next = raw[:i], i+1
		}
		raw = raw[next:]
		line = bytes.TrimSuffix(line, []byte("\r"))
		if len(line) == 0 {
			break // end of the header
		}
		if line[0] == ' ' || line[0] == '\t' {
			if cur != nil {
				if v := strings.Trim(string(line), " \t"); v != "" {
					*cur += " " + v
				}
			}
			continue
		}
		cur = nil
		name, rawValue, ok := splitField(line)
		if !ok {
			continue
		}
		value := strings.Trim(string(rawValue), " \t")
		switch {
		case strings.EqualFold(name, "Message-ID"):
			if !h.hasMessageID {
				h.hasMessageID, h.messageID, cur = true, value, &h.messageID
			}
		case strings.EqualFold(name, "Date"):
			h.hasDate = true
		case strings.EqualFold(name, "Subject"):
			if !h.hasSubject {
				h.hasSubject, h.subject, cur = true, value, &h.subject
			}
		case strings.EqualFold(name, "From"):
			if !h.hasFrom {
				h.hasFrom, h.from, cur = true, value, &h.from
			}
		}
	}
	return h
}

// rawDomain returns the domain for a new Message-ID of a raw message: the
// envelope sender's, else the From field's first address's, else "".
func rawDomain(m *Message, from string) string {
	if m.From.Addr != "" {
		return m.From.Domain()
	}
	if list, err := mail.ParseAddressList(from); err == nil && len(list) > 0 {
		a := Address{Addr: list[0].Address}
		return a.Domain()
	}
	return ""
}

// decodeHeaderText decodes RFC 2047 encoded-words in s; when that fails
// (an unknown charset, a malformed word) it returns s as it is.
func decodeHeaderText(s string) string {
	if !strings.Contains(s, "=?") {
		return s
	}
	d, err := new(mime.WordDecoder).DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// headerEnd returns where the header of raw ends, and whether an empty
// line ends it (the empty line is not part of the header). The header
// runs to the first empty line or the end of the data; a line that is
// neither a header field nor the continuation of one ends it too: a
// script writing "Subject: Alert" and then its text straight away means
// that text as the body, as sendmail and Postfix take it.
func headerEnd(raw []byte) (end int, blank bool) {
	inField := false
	for i := 0; i < len(raw); {
		line, next := raw[i:], len(raw)
		if j := bytes.IndexByte(line, '\n'); j >= 0 {
			line, next = line[:j], i+j+1
		}
		line = bytes.TrimSuffix(line, []byte("\r"))
		switch {
		case len(line) == 0:
			return i, true
		case line[0] == ' ' || line[0] == '\t':
			if !inField {
				return i, false
			}
		case isFieldLine(line):
			inField = true
		default:
			return i, false
		}
		i = next
	}
	return len(raw), false
}

// isFieldLine reports whether line starts a header field: a name of
// printable ASCII other than the colon (RFC 5322 section 2.2), then the
// colon, with blanks allowed before it (the obsolete syntax).
func isFieldLine(line []byte) bool {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return false
	}
	name := bytes.TrimRight(line[:colon], " \t")
	if len(name) == 0 {
		return false
	}
	for _, c := range name {
		if c < 33 || c > 126 {
			return false
		}
	}
	return true
}
