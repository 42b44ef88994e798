package smtpd

import (
	"net/netip"
	"time"
)

// maxHelo bounds the client's HELO name as written in a Received field.
const maxHelo = 255

// trace is what a Received field says about one transaction.
type trace struct {
	Helo     string     // the client's EHLO/HELO argument, as given
	Remote   netip.Addr // the client's IP address; invalid when unknown
	Hostname string     // this server
	TLS      bool
	Auth     bool
	ID       string // the transaction id
	Time     time.Time
}

// appendReceived appends the Received field of RFC 5321 §4.4 to dst:
//
//	Received: from <helo> ([<ip>])
//		by <hostname> (Outbox) with ESMTP[S][A] id <id>;
//		<date>
//
// The protocol names are those of RFC 3848. The HELO name is the
// client's unverified claim; characters that could break the field's
// syntax become '?'.
func appendReceived(dst []byte, t trace) []byte {
	dst = append(dst, "Received: from "...)
	dst = appendHelo(dst, t.Helo)
	dst = append(dst, " ("...)
	dst = appendAddressLiteral(dst, t.Remote)
	dst = append(dst, ")\r\n\tby "...)
	dst = append(dst, t.Hostname...)
	dst = append(dst, " (Outbox) with ESMTP"...)
	if t.TLS {
		dst = append(dst, 'S')
	}
	if t.Auth {
		dst = append(dst, 'A')
	}
	dst = append(dst, " id "...)
	dst = append(dst, t.ID...)
	dst = append(dst, ";\r\n\t"...)
	dst = t.Time.AppendFormat(dst, time.RFC1123Z)
	return append(dst, "\r\n"...)
}

// appendHelo appends a HELO name fit for a header: printable US-ASCII
// without the characters that delimit the Received field's parts.
func appendHelo(dst []byte, helo string) []byte {
	if helo == "" {
		return append(dst, "unknown"...)
	}
	if len(helo) > maxHelo {
		helo = helo[:maxHelo]
	}
	for i := 0; i < len(helo); i++ {
		c := helo[i]
		switch {
		case c <= ' ' || c > '~', c == '(', c == ')', c == ';', c == '\\':
			c = '?'
		}
		dst = append(dst, c)
	}
	return dst
}

// appendAddressLiteral appends an RFC 5321 address literal: [192.0.2.1]
// or [IPv6:2001:db8::1].
func appendAddressLiteral(dst []byte, ip netip.Addr) []byte {
	if !ip.IsValid() {
		return append(dst, "unknown"...)
	}
	ip = ip.Unmap()
	dst = append(dst, '[')
	if ip.Is6() {
		dst = append(dst, "IPv6:"...)
	}
	dst = ip.WithZone("").AppendTo(dst)
	return append(dst, ']')
}
