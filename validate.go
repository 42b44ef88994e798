package outbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/textproto"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits that keep every rendered header line under RFC 5322's 998 octets.
const (
	// maxHeaderName is the longest extra header field name.
	maxHeaderName = 76
	// maxWord is the longest part between fold points (see longestSegment)
	// that an extra header value or an attachment's Content-Type may hold:
	// it cannot be folded, and "Name: part" must fit a line.
	maxWord = 900
	// maxFilename is the longest attachment filename, in octets.
	maxFilename = 255
	// maxMessageID is the longest Message-ID, angle brackets included.
	maxMessageID = 250
)

// Validate checks a message before enqueue and returns a *FieldError
// naming the first offending field by its JSON name ("to[1]",
// "headers.X-Campaign", "attachments[0].filename"), or nil.
//
// A structured message (Raw == nil) needs a valid From, at least one
// recipient in To, Cc or Bcc, and a body: text, html or at least one
// attachment. A message with none of them is refused rather than sent
// empty, because it is almost always a caller's mistake (a misspelt JSON
// field); a message meant to be blank can carry a single space as text.
// No header-bound text (subject, display names, header names and values,
// attachment filenames, content types and ids, tags, metadata keys) may
// hold CR, LF or NUL, which would allow header injection.
//
// A raw message (Raw != nil) is sent as it is: From is the envelope
// sender (empty for the null sender), To the envelope recipients, and the
// structured fields must be empty. The raw bytes must start with a
// parsable header block. Their size is the caller's to limit.
func (m *Message) Validate() error {
	var err *FieldError
	if m.Raw != nil {
		err = m.validateRaw()
	} else {
		err = m.validateStructured()
	}
	if err == nil {
		err = m.validateCommon()
	}
	if err != nil {
		return err
	}
	return nil
}

func (m *Message) validateStructured() *FieldError {
	if m.From.Addr == "" && m.From.Name == "" {
		return fieldErrorf("from", "required")
	}
	if err := validateAddress("from", -1, m.From); err != nil {
		return err
	}
	if len(m.To)+len(m.Cc)+len(m.Bcc) == 0 {
		return fieldErrorf("to", "at least one recipient (to, cc or bcc) is required")
	}
	for _, l := range [...]struct {
		name string
		list []Address
	}{{"to", m.To}, {"cc", m.Cc}, {"bcc", m.Bcc}, {"reply_to", m.ReplyTo}} {
		for i, a := range l.list {
			if err := validateAddress(l.name, i, a); err != nil {
				return err
			}
		}
	}
	if msg := badHeaderText(m.Subject); msg != "" {
		return fieldErrorf("subject", "%s", msg)
	}
	if err := validateHeaders(m.Headers); err != nil {
		return err
	}
	if m.Text == "" && m.HTML == "" && len(m.Attachments) == 0 {
		return fieldErrorf("text", "a message needs a text or html body, or an attachment")
	}
	if !utf8.ValidString(m.Text) {
		return fieldErrorf("text", "is not valid UTF-8")
	}
	if !utf8.ValidString(m.HTML) {
		return fieldErrorf("html", "is not valid UTF-8")
	}
	for i := range m.Attachments {
		if err := validateAttachment(m.Attachments, i); err != nil {
			return err
		}
	}
	if m.MessageID != "" {
		if msg := badMessageID(m.MessageID); msg != "" {
			return fieldErrorf("message_id", "%s", msg)
		}
	}
	return nil
}

// validateCommon checks the fields that do not depend on the mode.
func (m *Message) validateCommon() *FieldError {
	switch m.Priority {
	case PriorityLow, PriorityNormal, PriorityHigh:
	default:
		return fieldErrorf("priority", "unknown priority %d (want high, normal or low)", m.Priority)
	}
	for i, t := range m.Tags {
		if msg := badHeaderText(t); msg != "" {
			return fieldErrorf(indexed("tags", i), "%s", msg)
		}
	}
	// Report the smallest bad key, so that the error does not depend on
	// the map's iteration order.
	bad, badMsg := "", ""
	for k := range m.Metadata {
		if msg := badHeaderText(k); msg != "" && (badMsg == "" || k < bad) {
			bad, badMsg = k, msg
		}
	}
	if badMsg != "" {
		return fieldErrorf("metadata", "key %q %s", bad, badMsg)
	}
	return nil
}

func (m *Message) validateRaw() *FieldError {
	if m.From.Name != "" {
		return fieldErrorf("from", "an envelope sender has no display name")
	}
	if m.From.Addr != "" {
		if err := ValidateAddr(m.From.Addr); err != nil {
			return &FieldError{Field: "from", Message: err.Error()}
		}
	}
	if len(m.To) == 0 {
		return fieldErrorf("to", "a raw message needs at least one envelope recipient")
	}
	for i, a := range m.To {
		if a.Name != "" {
			return fieldErrorf(indexed("to", i), "an envelope recipient has no display name")
		}
		if err := ValidateAddr(a.Addr); err != nil {
			return &FieldError{Field: indexed("to", i), Message: err.Error()}
		}
	}
	const inRaw = "must be empty for a raw message: the raw header carries it"
	const inTo = "must be empty for a raw message: list every envelope recipient in to"
	switch {
	case len(m.Cc) > 0:
		return fieldErrorf("cc", inTo)
	case len(m.Bcc) > 0:
		return fieldErrorf("bcc", inTo)
	case len(m.ReplyTo) > 0:
		return fieldErrorf("reply_to", inRaw)
	case m.Subject != "":
		return fieldErrorf("subject", inRaw)
	case m.Text != "":
		return fieldErrorf("text", inRaw)
	case m.HTML != "":
		return fieldErrorf("html", inRaw)
	case len(m.Headers) > 0:
		return fieldErrorf("headers", inRaw)
	case len(m.Attachments) > 0:
		return fieldErrorf("attachments", inRaw)
	}
	if m.MessageID != "" {
		if msg := badMessageID(m.MessageID); msg != "" {
			return fieldErrorf("message_id", "%s", msg)
		}
	}
	h, err := readRawHeader(m.Raw)
	if err != nil {
		return fieldErrorf("raw", "%v", err)
	}
	if ids, ok := h["Message-Id"]; ok {
		id := strings.TrimSpace(ids[0])
		if id == "" {
			return fieldErrorf("raw", "empty Message-ID header")
		}
		if m.MessageID != "" && m.MessageID != id {
			return fieldErrorf("message_id", "%s differs from the raw message's Message-ID %s", m.MessageID, id)
		}
	}
	return nil
}

// readRawHeader parses the header block of a raw message (see
// headerEnd).
func readRawHeader(raw []byte) (textproto.MIMEHeader, error) {
	if len(raw) == 0 {
		return nil, errors.New("empty message")
	}
	end, _ := headerEnd(raw)
	if end == 0 {
		return nil, errors.New("no header fields before the body")
	}
	hdr := io.MultiReader(bytes.NewReader(raw[:end]), strings.NewReader("\r\n"))
	r := textproto.NewReader(bufio.NewReader(hdr))
	h, err := r.ReadMIMEHeader()
	if err != nil && (err != io.EOF || len(h) == 0) {
		if err == io.EOF {
			return nil, errors.New("no header fields")
		}
		return nil, errors.New("unparsable header block: " + strings.TrimPrefix(err.Error(), "textproto: "))
	}
	if len(h) == 0 {
		return nil, errors.New("no header fields before the body")
	}
	for k := range h {
		if msg := badHeaderName(k); msg != "" {
			return nil, fmt.Errorf("header field name %q %s", k, msg)
		}
	}
	return h, nil
}

// validateAddress checks list[i] (or a single address when i < 0).
func validateAddress(field string, i int, a Address) *FieldError {
	if msg := badHeaderText(a.Name); msg != "" {
		return fieldErrorf(indexed(field, i), "display name %s", msg)
	}
	if err := ValidateAddr(a.Addr); err != nil {
		return &FieldError{Field: indexed(field, i), Message: err.Error()}
	}
	return nil
}

// validateHeaders checks the extra header fields, reporting the smallest
// offending name so that the error does not depend on map order.
func validateHeaders(h map[string]string) *FieldError {
	var worst *FieldError
	worstKey := ""
	for k, v := range h {
		err := validateHeader(h, k, v)
		if err != nil && (worst == nil || k < worstKey) {
			worst, worstKey = err, k
		}
	}
	return worst
}

func validateHeader(h map[string]string, k, v string) *FieldError {
	if msg := badHeaderName(k); msg != "" {
		return fieldErrorf("headers", "header name %q %s", k, msg)
	}
	if len(k) > maxHeaderName {
		return fieldErrorf("headers", "header name %q is longer than %d octets", k, maxHeaderName)
	}
	field := "headers." + k
	if reservedHeader(k) {
		return fieldErrorf(field, "Outbox writes %s itself; use the message's own field", k)
	}
	for other := range h {
		if other != k && other < k && strings.EqualFold(other, k) {
			return fieldErrorf(field, "repeats header %s", other)
		}
	}
	if msg := badHeaderText(v); msg != "" {
		return fieldErrorf(field, "%s", msg)
	}
	if n := longestSegment(v); n > maxWord && isASCII(v) {
		return fieldErrorf(field, "has %d octets without a single space between two words to fold the line at (at most %d)", n, maxWord)
	}
	return nil
}

func validateAttachment(list []Attachment, i int) *FieldError {
	a := &list[i]
	field := indexed("attachments", i)
	switch {
	case a.Filename == "":
		return fieldErrorf(field+".filename", "required")
	case len(a.Filename) > maxFilename:
		return fieldErrorf(field+".filename", "longer than %d octets", maxFilename)
	}
	if msg := badHeaderText(a.Filename); msg != "" {
		return fieldErrorf(field+".filename", "%s", msg)
	}
	if a.ContentType != "" {
		if msg := badHeaderText(a.ContentType); msg != "" {
			return fieldErrorf(field+".content_type", "%s", msg)
		}
		mt, params, err := mime.ParseMediaType(a.ContentType)
		if err != nil {
			return fieldErrorf(field+".content_type", "invalid media type %q: %v", a.ContentType, err)
		}
		if !strings.Contains(mt, "/") {
			return fieldErrorf(field+".content_type", "invalid media type %q: want type/subtype, e.g. application/pdf", a.ContentType)
		}
		params["name"] = a.Filename // as the Content-Type field is written
		if n := longestSegment(mime.FormatMediaType(mt, params)); n > maxWord {
			return fieldErrorf(field+".content_type", "has a parameter of %d octets, which cannot be folded (at most %d)", n, maxWord)
		}
		if strings.HasPrefix(mt, "multipart/") {
			return fieldErrorf(field+".content_type", "a multipart type cannot be attached; attach each part")
		}
	}
	if a.ContentID != "" {
		if msg := badContentID(a.ContentID); msg != "" {
			return fieldErrorf(field+".content_id", "%s", msg)
		}
		id := bareContentID(a.ContentID)
		for j := range i {
			if list[j].ContentID != "" && bareContentID(list[j].ContentID) == id {
				return fieldErrorf(field+".content_id", "repeats attachments[%d].content_id %q", j, a.ContentID)
			}
		}
	}
	return nil
}

// badHeaderText says what makes s unfit for a header field, or "".
func badHeaderText(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\r' || c == '\n':
			return "contains a line break (CR or LF)"
		case c == 0:
			return "contains a NUL byte"
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	if !ascii && !utf8.ValidString(s) {
		return "is not valid UTF-8"
	}
	return ""
}

// badHeaderName says what makes s unfit as a field name (RFC 5322 ftext:
// printable ASCII except colon), or "".
func badHeaderName(s string) string {
	if s == "" {
		return "is empty"
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < '!' || c > '~' || c == ':' {
			return "may hold only printable ASCII characters other than colon"
		}
	}
	return ""
}

// reservedHeader reports whether Render writes the field name itself.
func reservedHeader(name string) bool {
	for _, r := range [...]string{
		"From", "To", "Cc", "Bcc", "Reply-To", "Subject", "Date", "Message-ID",
		"MIME-Version", "Content-Type", "Content-Transfer-Encoding",
	} {
		if strings.EqualFold(name, r) {
			return true
		}
	}
	return false
}

// badMessageID says what makes id unfit as a Message-ID, or "". It must
// look like "<left@right>": printable ASCII, no spaces, one pair of angle
// brackets, a non-empty left and right side.
func badMessageID(id string) string {
	if len(id) > maxMessageID {
		return "is longer than " + strconv.Itoa(maxMessageID) + " octets"
	}
	if len(id) < 5 || id[0] != '<' || id[len(id)-1] != '>' {
		return "must look like <left@right>, with the angle brackets"
	}
	inner := id[1 : len(id)-1]
	for i := 0; i < len(inner); i++ {
		if c := inner[i]; c <= ' ' || c > '~' || c == '<' || c == '>' {
			return "must look like <left@right>: printable ASCII without spaces"
		}
	}
	at := strings.LastIndexByte(inner, '@')
	if at <= 0 || at == len(inner)-1 {
		return "must look like <left@right>: missing left or right part"
	}
	return ""
}

// badContentID says what makes a Content-ID unfit, or "": printable ASCII
// without spaces, optionally wrapped in angle brackets.
func badContentID(cid string) string {
	inner := bareContentID(cid)
	if inner == "" {
		return "is empty"
	}
	if len(inner) > maxMessageID {
		return "is longer than " + strconv.Itoa(maxMessageID) + " octets"
	}
	for i := 0; i < len(inner); i++ {
		if c := inner[i]; c <= ' ' || c > '~' || c == '<' || c == '>' || c == '"' {
			return "may hold only printable ASCII characters other than spaces, quotes and angle brackets"
		}
	}
	return ""
}

// bareContentID removes one pair of angle brackets around cid.
func bareContentID(cid string) string {
	if len(cid) >= 2 && cid[0] == '<' && cid[len(cid)-1] == '>' {
		return cid[1 : len(cid)-1]
	}
	return cid
}

// indexed returns "name[i]", or name when i < 0.
func indexed(name string, i int) string {
	if i < 0 {
		return name
	}
	return name + "[" + strconv.Itoa(i) + "]"
}
