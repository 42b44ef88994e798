package outbox

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"time"
)

// crockford is Crockford's base32 alphabet in lower case. Its order is the
// order of the values it encodes, so ids sort by their time prefix.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// NewMessageID returns a new, unique RFC 5322 Message-ID such as
// "<01jd3k7m2x4q9z8y6w5v3t1s0r@example.com>".
//
// The left part is 26 characters of base32 (Crockford's alphabet) over
// 128 bits: a 48-bit millisecond timestamp followed by 80 random bits from
// crypto/rand, so ids sort roughly by creation time and never collide in
// practice, across goroutines and processes. The right part is domain,
// normally the From address's domain; "localhost" is used instead when
// domain is empty, an address literal ("[192.0.2.1]"), not ASCII or not a
// valid dot-atom, so that the id never needs SMTPUTF8 or quoting.
func NewMessageID(domain string) string {
	return newMessageID(domain, time.Now())
}

// newMessageID is NewMessageID with the clock injected. It allocates only
// the returned string.
func newMessageID(domain string, now time.Time) string {
	if !messageIDDomainOK(domain) {
		domain = "localhost"
	}
	var raw [16]byte
	ms := uint64(now.UnixMilli())
	binary.BigEndian.PutUint16(raw[0:2], uint16(ms>>32))
	binary.BigEndian.PutUint32(raw[2:6], uint32(ms))
	rand.Read(raw[6:]) // never fails (crypto/rand's contract since Go 1.24)

	var b strings.Builder
	b.Grow(1 + 26 + 1 + len(domain) + 1)
	b.WriteByte('<')
	var left [26]byte
	encodeCrockford(&left, &raw)
	b.Write(left[:])
	b.WriteByte('@')
	b.WriteString(domain)
	b.WriteByte('>')
	return b.String()
}

// encodeCrockford writes the 128 bits of src as 26 base32 digits, most
// significant first (the first digit carries the top 3 bits).
func encodeCrockford(dst *[26]byte, src *[16]byte) {
	hi := binary.BigEndian.Uint64(src[0:8])
	lo := binary.BigEndian.Uint64(src[8:16])
	for i := 25; i >= 0; i-- {
		dst[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
}

// messageIDDomainOK reports whether d can be the right part of a
// Message-ID as it is: a non-empty ASCII dot-atom of letters, digits,
// hyphens and dots.
func messageIDDomainOK(d string) bool {
	if d == "" || len(d) > 253 || d[0] == '.' || d[len(d)-1] == '.' {
		return false
	}
	for i := 0; i < len(d); i++ {
		c := d[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-':
		case c == '.':
			if d[i-1] == '.' {
				return false
			}
		default:
			return false
		}
	}
	return true
}
