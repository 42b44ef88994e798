package httpapi

import (
	"io"
	"unicode/utf8"
)

// utf8Reader passes on the bytes of a JSON body, failing with a
// malformed_json *Error at the first one that is not valid UTF-8, or at
// an escape of half a surrogate pair. JSON
// must be UTF-8 (RFC 8259), and encoding/json would quietly turn such a
// byte in a string into U+FFFD: "Caf\xe9" would be stored as "Caf�".
type utf8Reader struct {
	r io.Reader
	// held is the start of a character the last read cut in two: it is
	// passed on with the rest of the character.
	held []byte
	off  int64 // bytes passed on so far
	// lone finds escapes of half a surrogate pair, which encoding/json
	// would turn into U+FFFD as well.
	lone surrogates
}

// Read reads from the body into p, keeping back a character cut at the
// end. p must have room for more than a character's start.
func (u *utf8Reader) Read(p []byte) (int, error) {
	if len(p) < utf8.UTFMax {
		return 0, io.ErrShortBuffer // encoding/json reads in 512-byte steps or more
	}
	h := copy(p, u.held)
	u.held = u.held[:0]
	n, err := u.r.Read(p[h:])
	n += h
	end := n
	if err != io.EOF { // at the end, a cut character is invalid
		end -= cutCharacter(p[:n])
	}
	if err == nil {
		u.held = append(u.held, p[end:n]...)
	}
	if i := invalidUTF8(p[:end]); i >= 0 {
		return 0, malformed("the body is not valid UTF-8 (at byte %d): JSON must be UTF-8", u.off+int64(i))
	}
	if at, r := u.lone.scan(p[:end], u.off); at >= 0 {
		return 0, malformed("the escape \\u%04X (at byte %d) is half of a UTF-16 surrogate pair, without the other half: it encodes no character", r, at)
	}
	u.off += int64(end)
	return end, err
}

// cutCharacter returns the length of the character b ends with when it
// is not whole yet: its first bytes, at most 3.
func cutCharacter(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax+1; i-- {
		if utf8.RuneStart(b[i]) {
			if utf8.FullRune(b[i:]) {
				return 0
			}
			return len(b) - i
		}
	}
	return 0
}

// invalidUTF8 returns the position of the first byte of b that is not
// valid UTF-8, or -1.
func invalidUTF8(b []byte) int {
	if utf8.Valid(b) {
		return -1
	}
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return -1
}
