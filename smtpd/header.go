package smtpd

import (
	"bytes"
	"strings"
)

// controlPrefix starts the name of every control field.
const controlPrefix = "x-outbox-"

// originalRecipients is the one X-Outbox-* field that is not a control
// field: the staging redirect (backend/redirect's DefaultHeader) writes
// it into the copies it sends, and an Outbox relaying such a copy keeps
// it as it is, as any other field.
const originalRecipients = "x-outbox-original-recipients"

// States of stripHeader for the field at hand; a value ≥ 0 is the index
// of the control field being collected.
const (
	keeping  = -1
	dropping = -2
)

// headerField is a removed control field: its name as written and its
// value unfolded and trimmed.
type headerField struct {
	Name  string
	Value string
}

// stripHeader appends msg to dst without the fields that must not be
// stored: Bcc and Resent-Bcc (dropped) and the X-Outbox-* control fields
// (dropped and returned in order; X-Outbox-Original-Recipients is kept).
// A removed field goes with its folded continuation lines; every other
// byte of msg is kept as it is.
//
// The header ends at the first empty line, or at the first line that is
// neither a header field ("name:" with a printable name, optionally
// followed by blanks before the colon) nor a continuation of one: from
// there on the message is body and is copied unchanged. Lines end at LF;
// a CR before it is part of the line ending.
//
// dst may be the start of msg's own array (msg == buf[len(dst):]): the
// output never overtakes the input, so the rewrite then happens in place
// without a second copy of the message.
func stripHeader(dst, msg []byte) ([]byte, []headerField) {
	var fields []headerField
	kept := 0           // msg[:kept] is already in dst
	i := 0              // start of the current line
	inField := false    // the previous line belongs to a header field
	removing := keeping // what happens to the current field
	for i < len(msg) {
		end := bytes.IndexByte(msg[i:], '\n')
		next := len(msg)
		if end >= 0 {
			next = i + end + 1
		}
		line := trimEOL(msg[i:next])
		if len(line) == 0 {
			break // the empty line that ends the header
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !inField {
				break // a continuation without a field: body
			}
			if removing >= 0 {
				fields[removing].Value += string(line)
			}
			i = next
			continue
		}
		name, value, ok := splitField(line)
		if !ok {
			break
		}
		inField = true
		wasRemoving := removing != keeping
		removing = keeping
		switch lower := strings.ToLower(name); {
		case lower == "bcc" || lower == "resent-bcc":
			removing = dropping
		case strings.HasPrefix(lower, controlPrefix) && lower != originalRecipients:
			fields = append(fields, headerField{Name: name, Value: string(value)})
			removing = len(fields) - 1
		}
		switch {
		case removing != keeping && !wasRemoving:
			dst = append(dst, msg[kept:i]...)
		case removing == keeping && wasRemoving:
			kept = i
		}
		i = next
	}
	if removing != keeping {
		kept = i
	}
	dst = append(dst, msg[kept:]...)
	for j := range fields {
		fields[j].Value = strings.Trim(fields[j].Value, " \t")
	}
	return dst, fields
}

// trimEOL removes the LF or CRLF that ends a line.
func trimEOL(line []byte) []byte {
	line = bytes.TrimSuffix(line, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r"))
}

// splitField splits a header line into the field name and the text after
// the colon. ok is false when the line is not a header field: RFC 5322
// names are printable US-ASCII other than the colon, and the obsolete
// syntax allows blanks between the name and the colon.
func splitField(line []byte) (name string, value []byte, ok bool) {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 {
		return "", nil, false
	}
	n := bytes.TrimRight(line[:colon], " \t")
	if len(n) == 0 {
		return "", nil, false
	}
	for _, c := range n {
		if c <= ' ' || c > '~' {
			return "", nil, false
		}
	}
	return string(n), line[colon+1:], true
}
