package outbox

import (
	"bytes"
	"crypto/rand"
	"slices"
	"strings"
	"time"
)

// Rendered is a message ready to store: its RFC 5322 bytes and the facts
// the store keeps beside them.
type Rendered struct {
	// Data is the message with CRLF line endings.
	Data []byte
	// MessageID is the Message-ID header's value, with angle brackets.
	MessageID string
	// From is the envelope sender.
	From string
	// Recipients are the envelope recipients: to, cc and bcc, deduplicated
	// (case-insensitively on the domain), in that order.
	Recipients []string
	// Subject is the decoded Subject header.
	Subject string
}

// Render turns a validated message (see Message.Validate) into its
// RFC 5322 bytes at time now. It does not validate m again, but it never
// writes a line break from a field into the header: text is encoded, and
// a line break in a field written as it is (an address, a header name)
// is a *FieldError.
//
// A structured message becomes a MIME message with CRLF line endings:
// Date, Message-ID (m.MessageID, or a new one from NewMessageID on the
// From domain), From, To, Cc, Reply-To, Subject, MIME-Version, the extra
// Headers in sorted order, then the body. Bcc recipients are in the
// envelope only. Non-ASCII text in headers is written as RFC 2047
// encoded-words and long fields are folded at 78 columns where their
// text allows. The body is text/plain, text/html or multipart/alternative
// (text first); inline attachments (those with a ContentID) and the HTML
// they illustrate are wrapped in multipart/related; other attachments
// make the whole a multipart/mixed. Text parts are 7bit when they are
// short-lined ASCII, else quoted-printable, or base64 when mostly
// non-ASCII; attachments are base64, wrapped at 76 columns.
//
// A raw message is kept byte-exact except that bare LF line endings become
// CRLF, and a Message-ID (m.MessageID or a new one) and a Date field are
// added at the top when the header lacks them. See renderRaw.
func Render(m *Message, now time.Time) (*Rendered, error) {
	if m.Raw != nil {
		return renderRaw(m, now)
	}
	if err := checkVerbatim(m); err != nil {
		return nil, err
	}
	r := &Rendered{
		From:       m.From.Addr,
		Subject:    m.Subject,
		MessageID:  m.MessageID,
		Recipients: envelopeRecipients(m.To, m.Cc, m.Bcc),
	}
	if r.MessageID == "" {
		r.MessageID = newMessageID(m.From.Domain(), now)
	}
	var buf bytes.Buffer
	buf.Grow(estimateSize(m))
	h := headerWriter{b: &buf, tmp: make([]byte, 0, 128)}

	h.field("Date")
	h.tmp = now.AppendFormat(h.tmp[:0], time.RFC1123Z)
	h.tokenBytes(h.tmp)
	h.end()
	h.simple("Message-ID", r.MessageID)
	h.addressList("From", []Address{m.From})
	h.addressList("To", m.To)
	h.addressList("Cc", m.Cc)
	h.addressList("Reply-To", m.ReplyTo)
	if m.Subject != "" {
		h.field("Subject")
		h.unstructured(m.Subject)
		h.end()
	}
	h.simple("MIME-Version", "1.0")
	if len(m.Headers) > 0 {
		keys := make([]string, 0, len(m.Headers))
		for k := range m.Headers {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			h.field(k)
			h.headerValue(m.Headers[k])
			h.end()
		}
	}

	w := bodyWriter{h: &h}
	if len(m.Attachments) > 0 || m.Text != "" && m.HTML != "" {
		rand.Read(w.rnd[:]) // boundaries; never fails (crypto/rand's contract since Go 1.24)
	}
	w.message(m)
	if !bytes.HasSuffix(buf.Bytes(), []byte("\r\n")) {
		buf.WriteString("\r\n")
	}
	r.Data = buf.Bytes()
	return r, nil
}

// checkVerbatim refuses line breaks and NUL in the fields that Render
// writes as they are (addresses, header names, Message-ID, Content-IDs),
// so that a message that skipped Validate still cannot inject header
// fields. Everything else Render writes is encoded.
func checkVerbatim(m *Message) *FieldError {
	bad := func(s string) bool { return strings.ContainsAny(s, "\r\n\x00") }
	if bad(m.From.Addr) {
		return fieldErrorf("from", "contains a line break or NUL")
	}
	for _, l := range [...]struct {
		name string
		list []Address
	}{{"to", m.To}, {"cc", m.Cc}, {"reply_to", m.ReplyTo}} {
		for i, a := range l.list {
			if bad(a.Addr) {
				return fieldErrorf(indexed(l.name, i), "contains a line break or NUL")
			}
		}
	}
	for k := range m.Headers {
		if badHeaderName(k) != "" {
			return fieldErrorf("headers", "invalid header name %q", k)
		}
	}
	if bad(m.MessageID) {
		return fieldErrorf("message_id", "contains a line break or NUL")
	}
	for i := range m.Attachments {
		if bad(m.Attachments[i].ContentID) {
			return fieldErrorf(indexed("attachments", i)+".content_id", "contains a line break or NUL")
		}
	}
	return nil
}

// estimateSize guesses the rendered size, so that the buffer grows once.
func estimateSize(m *Message) int {
	n := 1024 + len(m.Subject)*2 + len(m.Text)*5/4 + len(m.HTML)*5/4
	for _, l := range [...][]Address{m.To, m.Cc, m.ReplyTo} {
		n += len(l) * 64
	}
	for k, v := range m.Headers {
		n += len(k) + len(v)*2 + 4
	}
	for i := range m.Attachments {
		n += 512 + len(m.Attachments[i].Content)*139/100
	}
	return n
}

// envelopeRecipients returns the addr-specs of the lists, in order,
// without repeats. Two addresses are the same when their local parts are
// equal and their domains equal ignoring ASCII case: RFC 5321 leaves the
// local part's case to the receiving host.
func envelopeRecipients(lists ...[]Address) []string {
	n := 0
	for _, l := range lists {
		n += len(l)
	}
	out := make([]string, 0, n)
	if n > 32 {
		seen := make(map[string]struct{}, n)
		for _, l := range lists {
			for _, a := range l {
				k := recipientKey(a.Addr)
				if _, dup := seen[k]; !dup {
					seen[k] = struct{}{}
					out = append(out, a.Addr)
				}
			}
		}
		return out
	}
	for _, l := range lists {
		for _, a := range l {
			if !slices.ContainsFunc(out, func(o string) bool { return sameRecipient(o, a.Addr) }) {
				out = append(out, a.Addr)
			}
		}
	}
	return out
}

// sameRecipient compares two addr-specs: local parts exactly, domains
// ignoring ASCII case.
func sameRecipient(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	at := strings.LastIndexByte(a, '@')
	if at != strings.LastIndexByte(b, '@') || a[:at+1] != b[:at+1] {
		return false
	}
	for i := at + 1; i < len(a); i++ {
		if lowerASCII(a[i]) != lowerASCII(b[i]) {
			return false
		}
	}
	return true
}

// recipientKey is the map key for which equality is sameRecipient.
func recipientKey(a string) string {
	at := strings.LastIndexByte(a, '@')
	k := []byte(a)
	for i := at + 1; i < len(k); i++ {
		k[i] = lowerASCII(k[i])
	}
	return string(k)
}

func lowerASCII(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
