package main

import (
	"bytes"
	"fmt"
	"net/mail"
	"slices"
	"strings"
)

// headerEnvelope is the envelope read from a raw message's header: the
// From address and the addresses of To, Cc and Bcc, without duplicates.
type headerEnvelope struct {
	from string
	to   []string
}

// envelopeFromHeaders reads the envelope of a raw message from its header
// fields, as `sendmail -t` does.
func envelopeFromHeaders(raw []byte) (headerEnvelope, error) {
	var env headerEnvelope
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return env, fmt.Errorf("stdin is not an RFC 5322 message: %w", err)
	}
	if v := msg.Header.Get("From"); v != "" {
		list, err := addressParser().ParseList(v)
		if err != nil {
			return env, fmt.Errorf("From header: %w", err)
		}
		env.from = list[0].Address
	}
	seen := map[string]bool{}
	for _, field := range []string{"To", "Cc", "Bcc"} {
		v := msg.Header.Get(field)
		if v == "" {
			continue
		}
		list, err := addressParser().ParseList(v)
		if err != nil {
			return env, fmt.Errorf("%s header: %w", field, err)
		}
		for _, a := range list {
			if !seen[a.Address] {
				seen[a.Address] = true
				env.to = append(env.to, a.Address)
			}
		}
	}
	return env, nil
}

// removeHeader returns raw without the header fields named (and their
// folded continuation lines), leaving every other byte as it was.
func removeHeader(raw []byte, names ...string) []byte {
	return editHeader(raw, func(name string, field []byte) []byte {
		if slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, name) }) {
			return nil
		}
		return field
	})
}

// editHeader returns raw with each header field replaced by what edit
// returns for it: its name, and the field's bytes with its folded
// continuation lines and line endings. Every other byte stays as it was.
// The header ends at the first blank line, or at the first line that is
// neither a field nor a continuation (a message without a header).
func editHeader(raw []byte, edit func(name string, field []byte) []byte) []byte {
	var (
		out   []byte
		name  string // of the field being read
		start int    // where it starts in raw
	)
	flush := func(end int) {
		if name != "" {
			out = append(out, edit(name, raw[start:end])...)
		}
		name = ""
	}
	for pos := 0; pos < len(raw); {
		end := bytes.IndexByte(raw[pos:], '\n') + 1
		if end == 0 {
			end = len(raw) - pos
		}
		line := raw[pos : pos+end]
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			// The blank line ends the header: the body follows unchanged.
			flush(pos)
			return append(out, raw[pos:]...)
		}
		if line[0] != ' ' && line[0] != '\t' {
			colon := bytes.IndexByte(line, ':')
			var field string
			if colon > 0 {
				field = string(bytes.TrimRight(line[:colon], " \t"))
			}
			flush(pos)
			if field == "" || strings.ContainsAny(field, " \t") {
				// Not a header field: no header, or its end.
				return append(out, raw[pos:]...)
			}
			name, start = field, pos
		} else if name == "" {
			out = append(out, line...) // a continuation of nothing
		}
		pos += end
	}
	flush(len(raw))
	return out
}
