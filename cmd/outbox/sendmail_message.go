package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"strings"
)

// errTooLarge is returned by readSendmailInput for a message over the limit.
var errTooLarge = errors.New("message too large")

// readSendmailInput reads the message sendmail is given on r. Unless
// ignoreDots, a line holding a single dot ends it, as sendmail does (the
// rest of the input is not read); otherwise it ends at end of file.
// Nothing else is changed: there is no dot-unstuffing on a command line.
// A message over limit bytes is refused with errTooLarge.
func readSendmailInput(r io.Reader, ignoreDots bool, limit int64) ([]byte, error) {
	if ignoreDots {
		raw, err := io.ReadAll(io.LimitReader(r, limit+1))
		if err == nil && int64(len(raw)) > limit {
			err = errTooLarge
		}
		return raw, err
	}
	br := bufio.NewReader(r)
	var raw []byte
	atStart := true // the chunk read next starts a line
	for {
		chunk, err := br.ReadSlice('\n')
		if s := string(chunk); atStart && (s == ".\n" || s == ".\r\n" || s == "." && err == io.EOF) {
			return raw, nil
		}
		raw = append(raw, chunk...)
		atStart = err != bufio.ErrBufferFull
		if int64(len(raw)) > limit {
			return nil, errTooLarge
		}
		switch {
		case err == io.EOF:
			return raw, nil
		case err != nil && err != bufio.ErrBufferFull:
			return nil, err
		}
	}
}

// headerField is a field of a message's header, its value unfolded.
type headerField struct {
	name, value string
}

// parseHeader returns the fields of raw's header, which ends at the
// first empty line, or at the first line that is neither a field nor a
// continuation (the body of a message without a header).
func parseHeader(raw []byte) []headerField {
	var fields []headerField
	for len(raw) > 0 {
		end := bytes.IndexByte(raw, '\n') + 1
		if end == 0 {
			end = len(raw)
		}
		line := strings.TrimRight(string(raw[:end]), "\r\n")
		raw = raw[end:]
		switch {
		case line == "":
			return fields
		case (line[0] == ' ' || line[0] == '\t') && len(fields) > 0:
			fields[len(fields)-1].value += " " + strings.TrimSpace(line)
		case fieldName(line) != "":
			name := fieldName(line)
			fields = append(fields, headerField{name: name, value: strings.TrimSpace(line[len(name)+1:])})
		default:
			return fields
		}
	}
	return fields
}

// fieldName returns the name of the header field that line starts, or
// "" when it does not start one: a name is printable ASCII other than
// the colon, followed by a colon (RFC 5322 §2.2).
func fieldName(line string) string {
	colon := strings.IndexByte(line, ':')
	if colon <= 0 {
		return ""
	}
	for i := 0; i < colon; i++ {
		if line[i] < 33 || line[i] > 126 {
			return ""
		}
	}
	return line[:colon]
}

// values returns the values of the fields named name, in order.
func values(fields []headerField, name string) []string {
	var out []string
	for _, f := range fields {
		if strings.EqualFold(f.name, name) {
			out = append(out, f.value)
		}
	}
	return out
}

// stripMboxFrom removes an mbox "From sender date" line at the start of
// raw: some programs write one, and it is not a header field.
func stripMboxFrom(raw []byte) []byte {
	if !bytes.HasPrefix(raw, []byte("From ")) {
		return raw
	}
	if i := bytes.IndexByte(raw, '\n'); i >= 0 {
		return raw[i+1:]
	}
	return nil
}

// addFrom returns raw with a From field naming from, when its header has
// none: sendmail adds it, and a message without one is not valid. A
// message that starts without a header gets one, separated from what was
// its first line by an empty line.
func addFrom(raw []byte, fields []headerField, from mail.Address) []byte {
	if len(values(fields, "From")) > 0 {
		return raw
	}
	eol := "\n"
	if i := bytes.IndexByte(raw, '\n'); i > 0 && raw[i-1] == '\r' {
		eol = "\r\n"
	}
	value := from.Address
	if from.Name != "" {
		value = from.String() // quoted or RFC 2047-encoded as needed
	}
	out := []byte("From: " + value + eol)
	if len(fields) == 0 && !bytes.HasPrefix(raw, []byte("\n")) && !bytes.HasPrefix(raw, []byte("\r\n")) {
		out = append(out, eol...) // raw is all body
	}
	return append(out, raw...)
}

// qualifyHeader returns raw with the bare local names of its address
// fields (From, Sender, Reply-To, To, Cc) qualified with domain, as
// sendmail and Postfix do for mail submitted on the machine: cron writes
// "From: root (Cron Daemon)" and "To: root", which relays refuse once the
// message has been taken. Fields without such a name keep their bytes;
// one with it is written again, its addresses as net/mail formats them.
func qualifyHeader(raw []byte, domain string) []byte {
	return editHeader(raw, func(name string, field []byte) []byte {
		switch strings.ToLower(name) {
		case "from", "sender", "reply-to", "to", "cc":
		default:
			return field
		}
		value := strings.TrimSpace(string(field[bytes.IndexByte(field, ':')+1:]))
		value = strings.NewReplacer("\r\n", "", "\n", "").Replace(value) // unfold
		parts := splitAddressList(value)
		bare := false
		var list []string
		for _, p := range parts {
			if strings.TrimSpace(p) == "" {
				continue
			}
			a, err := parseMailbox(p, domain)
			if err != nil {
				return field // a group, or not an address: as it was
			}
			bare = bare || !strings.Contains(p, "@")
			list = append(list, a.String())
		}
		if !bare {
			return field
		}
		eol := "\n"
		if bytes.HasSuffix(field, []byte("\r\n")) {
			eol = "\r\n"
		}
		return []byte(name + ": " + strings.Join(list, ", ") + eol)
	})
}

// addressParser parses the addresses of header fields whatever charset
// their encoded-word display names are in. Only the addresses are used,
// so a name in a charset Go does not decode (windows-1252, ISO-2022-JP,
// KOI8-R…) is passed through undecoded rather than failing the address.
func addressParser() *mail.AddressParser {
	return &mail.AddressParser{WordDecoder: &mime.WordDecoder{
		CharsetReader: func(_ string, r io.Reader) (io.Reader, error) { return r, nil },
	}}
}

// parseRecipientList parses an address list as sendmail does: RFC 5322
// mailboxes and groups, and also bare local names ("root", "root (Cron
// Daemon)", "Admin <root>"), which are qualified with domain. It returns
// the addr-specs.
func parseRecipientList(s, domain string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if list, err := addressParser().ParseList(s); err == nil {
		out := make([]string, len(list))
		for i, a := range list {
			out[i] = a.Address
		}
		return out, nil
	}
	var out []string
	for _, part := range splitAddressList(s) {
		if strings.TrimSpace(part) == "" {
			continue
		}
		a, err := parseMailbox(part, domain)
		if err != nil {
			return nil, err
		}
		out = append(out, a.Address)
	}
	return out, nil
}

// parseMailbox parses one mailbox, qualifying a bare local name with
// domain.
func parseMailbox(s, domain string) (*mail.Address, error) {
	s = strings.TrimSpace(s)
	if a, err := addressParser().Parse(s); err == nil {
		return a, nil
	}
	if !strings.Contains(s, "@") && s != "" {
		q := ""
		if i := strings.LastIndexByte(s, '>'); i >= 0 {
			q = s[:i] + "@" + domain + s[i:]
		} else {
			end := strings.IndexAny(s, " \t(")
			if end < 0 {
				end = len(s)
			}
			q = s[:end] + "@" + domain + s[end:]
		}
		if a, err := addressParser().Parse(q); err == nil {
			return a, nil
		}
	}
	return nil, fmt.Errorf("invalid address %q", s)
}

// splitAddressList splits s at the commas that are not inside a quoted
// string, a comment or angle brackets.
func splitAddressList(s string) []string {
	var (
		parts   []string
		start   int
		quoted  bool
		escaped bool
		depth   int // parentheses
		angle   bool
	)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case escaped:
			escaped = false
		case c == '\\':
			escaped = true
		case quoted:
			quoted = c != '"'
		case c == '"':
			quoted = true
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth > 0:
		case c == '<':
			angle = true
		case c == '>':
			angle = false
		case c == ',' && !angle:
			parts = append(parts, s[start:i])
			start = i + 1
		}
	}
	return append(parts, s[start:])
}
