package main

import (
	"strconv"
	"strings"
	"time"
)

// idDomain is the domain of the bench's Message-IDs.
const idDomain = "bench.invalid"

// bodyText is the text of every bench message: about 600 bytes, a
// typical transactional mail's size.
const bodyText = "Your ticket has been updated. Reply to this message to add a comment. Your ticket has been updated. Reply to this message to add a comment. Your ticket has been updated. Reply to this message to add a comment. " +
	"Your ticket has been updated. Reply to this message to add a comment. Your ticket has been updated. Reply to this message to add a comment. Your ticket has been updated. Reply to this message to add a comment. " +
	"Your ticket has been updated. Reply to this message to add a comment. Your ticket has been updated. Reply to this message to add a comment. Your ticket has been updated. Reply to this message to add a comment. "

// messageID is the Message-ID of message n of a phase: the sink reads the
// phase back from it.
func messageID(phase string, n int) string {
	return "<" + strconv.Itoa(n) + "." + phase + "@" + idDomain + ">"
}

// phaseOf returns the phase of a bench Message-ID.
func phaseOf(id string) (string, bool) {
	s, ok := strings.CutPrefix(id, "<")
	if !ok {
		return "", false
	}
	s, ok = strings.CutSuffix(s, "@"+idDomain+">")
	if !ok {
		return "", false
	}
	_, phase, ok := strings.Cut(s, ".")
	return phase, ok
}

// appendJSONMessage appends the JSON form of a message to buf. sendAt,
// when not zero, schedules it; sent is the X-Bench-Sent time.
func appendJSONMessage(buf []byte, id string, sent time.Time, sendAt time.Time) []byte {
	buf = append(buf, `{"from":"bench@example.com","to":["rcpt@example.net"],"subject":"Ticket updated","text":"`...)
	buf = append(buf, bodyText...)
	buf = append(buf, `","message_id":"`...)
	buf = append(buf, id...)
	buf = append(buf, `","headers":{"X-Bench-Sent":"`...)
	buf = strconv.AppendInt(buf, sent.UnixNano(), 10)
	buf = append(buf, `"}`...)
	if !sendAt.IsZero() {
		buf = append(buf, `,"send_at":"`...)
		buf = sendAt.UTC().AppendFormat(buf, time.RFC3339)
		buf = append(buf, '"')
	}
	return append(buf, '}')
}

// appendRawMessage appends an RFC 5322 message, as an SMTP client sends
// it, to buf.
func appendRawMessage(buf []byte, id string, sent time.Time) []byte {
	buf = append(buf, "From: bench@example.com\r\nTo: rcpt@example.net\r\nSubject: Ticket updated\r\nDate: "...)
	buf = sent.AppendFormat(buf, time.RFC1123Z)
	buf = append(buf, "\r\nMessage-ID: "...)
	buf = append(buf, id...)
	buf = append(buf, "\r\nX-Bench-Sent: "...)
	buf = strconv.AppendInt(buf, sent.UnixNano(), 10)
	buf = append(buf, "\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"...)
	buf = append(buf, bodyText...)
	return append(buf, "\r\n"...)
}
