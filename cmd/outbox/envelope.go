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
// folded continuation lines), leaving every other byte as it was. The
// header ends at the first blank line, or at the first line that is
// neither a field nor a continuation (a message without a header).
func removeHeader(raw []byte, names ...string) []byte {
	var out []byte
	dropping := false
	rest := raw
	for len(rest) > 0 {
		end := bytes.IndexByte(rest, '\n') + 1
		if end == 0 {
			end = len(rest)
		}
		line := rest[:end]
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			// The blank line ends the header: the body follows unchanged.
			return append(out, rest...)
		}
		if line[0] != ' ' && line[0] != '\t' {
			colon := bytes.IndexByte(line, ':')
			var field string
			if colon > 0 {
				field = string(bytes.TrimRight(line[:colon], " \t"))
			}
			if field == "" || strings.ContainsAny(field, " \t") {
				// Not a header field: no header, or its end.
				return append(out, rest...)
			}
			dropping = slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, field) })
		}
		if !dropping {
			out = append(out, line...)
		}
		rest = rest[end:]
	}
	return out
}
