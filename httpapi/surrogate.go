package httpapi

import (
	"bytes"
	"unicode/utf16"
)

// surrogates finds the \u escapes of a JSON text that encode half of a
// UTF-16 surrogate pair alone: a high surrogate (\uD800–\uDBFF) not
// followed at once by a low one (\uDC00–\uDFFF), or a low one without a
// high one before it. encoding/json would quietly turn each into U+FFFD,
// as it does an invalid UTF-8 byte (see utf8Reader). It reads the text in
// pieces, keeping its place in an escape across them; backslashes occur
// only in strings, so it need not follow the rest of the syntax.
type surrogates struct {
	escape bool  // the last byte was a backslash starting an escape
	digits int   // hex digits still to read of a \u escape
	code   rune  // the \u escape read so far
	start  int64 // where the escape being read starts
	high   rune  // a high surrogate whose low half must come next, or 0
	highAt int64 // where that high surrogate's escape starts
}

// scan reads b, which starts at offset off of the text, and returns the
// offset of the first lone surrogate's escape and its code, or -1.
func (s *surrogates) scan(b []byte, off int64) (int64, rune) {
	for i := 0; i < len(b); {
		switch {
		case s.digits > 0:
			h := unhex(b[i])
			if h < 0 { // not JSON: the decoder says so
				s.digits, s.high = 0, 0
				continue
			}
			s.code = s.code<<4 | h
			s.digits--
			i++
			if s.digits > 0 {
				continue
			}
			switch {
			case s.high != 0 && isLowSurrogate(s.code):
				s.high = 0
			case s.high != 0:
				return s.highAt, s.high
			case isLowSurrogate(s.code):
				return s.start, s.code
			case utf16.IsSurrogate(s.code):
				s.high, s.highAt = s.code, s.start
			}
		case s.escape:
			s.escape = false
			if b[i] == 'u' {
				s.digits, s.code = 4, 0
			} else if s.high != 0 {
				return s.highAt, s.high
			}
			i++
		case s.high != 0:
			// Only the low half's escape may follow a high one.
			if b[i] != '\\' {
				return s.highAt, s.high
			}
			s.escape, s.start = true, off+int64(i)
			i++
		default:
			j := bytes.IndexByte(b[i:], '\\')
			if j < 0 {
				return -1, 0
			}
			i += j
			s.escape, s.start = true, off+int64(i)
			i++
		}
	}
	return -1, 0
}

// isLowSurrogate reports whether r is the second half of a surrogate pair.
func isLowSurrogate(r rune) bool { return r >= 0xDC00 && r <= 0xDFFF }

// unhex returns the value of a hex digit, or -1.
func unhex(c byte) rune {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0')
	case c >= 'a' && c <= 'f':
		return rune(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return rune(c-'A') + 10
	}
	return -1
}
