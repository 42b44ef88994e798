package outbox

import (
	"bytes"
	"encoding/base64"
	"unicode/utf8"
)

// lineWidth is the line length RFC 5322 recommends; header fields are
// folded to stay within it wherever the value allows a fold.
const lineWidth = 78

// headerWriter writes header fields into a buffer, folding long values at
// spaces and encoding text as RFC 2047 encoded-words when it needs to.
type headerWriter struct {
	b   *bytes.Buffer
	col int  // column of the next byte on the current line
	any bool // a token was written in the current field
	tmp []byte
}

// field starts a header field.
func (h *headerWriter) field(name string) {
	h.b.WriteString(name)
	h.b.WriteByte(':')
	h.col = len(name) + 1
	h.any = false
}

// end finishes the current field.
func (h *headerWriter) end() { h.b.WriteString("\r\n") }

// simple writes a whole field whose value needs no folding or encoding.
func (h *headerWriter) simple(name, value string) {
	h.field(name)
	h.token(value)
	h.end()
}

// token writes t after a space, folding the line first when t would pass
// lineWidth. t itself is never split.
func (h *headerWriter) token(t string) {
	if h.any && h.col+1+len(t) > lineWidth {
		h.b.WriteString("\r\n")
		h.col = 0
	}
	h.b.WriteByte(' ')
	h.b.WriteString(t)
	h.col += 1 + len(t)
	h.any = true
}

// tokenBytes is token for a byte slice.
func (h *headerWriter) tokenBytes(t []byte) {
	if h.any && h.col+1+len(t) > lineWidth {
		h.b.WriteString("\r\n")
		h.col = 0
	}
	h.b.WriteByte(' ')
	h.b.Write(t)
	h.col += 1 + len(t)
	h.any = true
}

// text writes s as it is, folded at its fold points (see foldPoints).
func (h *headerWriter) text(s string) {
	start := 0
	for i := 1; i < len(s)-1; i++ {
		if isFoldPoint(s, i) {
			h.token(s[start:i])
			start = i + 1
		}
	}
	h.token(s[start:])
}

// isFoldPoint reports whether s[i] is a single space between two
// non-blank characters: folding there (CRLF before the space) unfolds back
// to the same text, because unfolding readers trim the continuation line.
func isFoldPoint(s string, i int) bool {
	return s[i] == ' ' && !isWSPByte(s[i-1]) && !isWSPByte(s[i+1])
}

func isWSPByte(c byte) bool { return c == ' ' || c == '\t' }

// longestSegment returns the length of the longest part of s between two
// fold points: what text cannot shorten by folding.
func longestSegment(s string) int {
	longest, start := 0, 0
	for i := 1; i < len(s)-1; i++ {
		if isFoldPoint(s, i) {
			longest = max(longest, i-start)
			start = i + 1
		}
	}
	return max(longest, len(s)-start)
}

// needsEncodedWords reports whether unstructured text s must be written as
// RFC 2047 encoded-words: it holds non-ASCII or control characters, text
// that a reader would take for an encoded-word ("=?"), blanks at either end
// (which unfolding would trim), or a segment too long to fold.
func needsEncodedWords(s string) bool {
	if s == "" {
		return false
	}
	if isWSPByte(s[0]) || isWSPByte(s[len(s)-1]) {
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' && c != '\t' || c >= 0x7f {
			return true
		}
		if c == '=' && i+1 < len(s) && s[i+1] == '?' {
			return true
		}
	}
	return longestSegment(s) > lineWidth-10
}

// qSafe reports whether c can appear as itself in a Q-encoded word. It is
// the set RFC 2047 allows in a phrase, so words are valid in every context.
func qSafe(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '!' || c == '*' || c == '+' || c == '-' || c == '/'
}

// encoded writes s as a sequence of UTF-8 encoded-words, Q or B encoding,
// whichever is shorter. Each word is at most 75 characters and sized to
// fit the current line, so lines stay within lineWidth.
func (h *headerWriter) encoded(s string) {
	q := 0
	for i := 0; i < len(s); i++ {
		if qSafe(s[i]) || s[i] == ' ' {
			q++
		} else {
			q += 3
		}
	}
	useB := q > (len(s)+2)/3*4
	const overhead = len("=?utf-8?q??=")
	for len(s) > 0 {
		// The room left for the encoded text of this word.
		room := lineWidth - h.col - 1 - overhead
		if !h.any && room < 8 || h.any && room < 16 {
			room = lineWidth - 1 - overhead
		}
		room = min(room, 75-overhead)
		var n int
		if useB {
			h.tmp, n = appendBWord(h.tmp[:0], s, room)
		} else {
			h.tmp, n = appendQWord(h.tmp[:0], s, room)
		}
		h.tokenBytes(h.tmp)
		s = s[n:]
	}
}

// appendQWord appends one Q encoded-word holding as many whole characters
// of s as fit in room encoded octets (at least one character), and
// returns how many bytes of s it took.
func appendQWord(dst []byte, s string, room int) ([]byte, int) {
	const hex = "0123456789ABCDEF"
	dst = append(dst, "=?utf-8?q?"...)
	used, n := 0, 0
	for n < len(s) {
		_, size := utf8.DecodeRuneInString(s[n:])
		cost := 0
		for j := n; j < n+size; j++ {
			if qSafe(s[j]) || s[j] == ' ' {
				cost++
			} else {
				cost += 3
			}
		}
		if used+cost > room && n > 0 {
			break
		}
		for j := n; j < n+size; j++ {
			switch c := s[j]; {
			case c == ' ':
				dst = append(dst, '_')
			case qSafe(c):
				dst = append(dst, c)
			default:
				dst = append(dst, '=', hex[c>>4], hex[c&15])
			}
		}
		used += cost
		n += size
	}
	return append(dst, "?="...), n
}

// appendBWord appends one B encoded-word holding as many whole characters
// of s as fit in room encoded octets (at least one character), and
// returns how many bytes of s it took.
func appendBWord(dst []byte, s string, room int) ([]byte, int) {
	maxBytes := max(room/4*3, 4)
	n := 0
	for n < len(s) {
		_, size := utf8.DecodeRuneInString(s[n:])
		if n+size > maxBytes && n > 0 {
			break
		}
		n += size
	}
	dst = append(dst, "=?utf-8?b?"...)
	dst = base64.StdEncoding.AppendEncode(dst, []byte(s[:n]))
	return append(dst, "?="...), n
}

// unstructured writes unstructured text (a subject, an extra header's
// value): as it is when it allows, else as encoded-words.
func (h *headerWriter) unstructured(s string) {
	switch {
	case s == "":
	case needsEncodedWords(s):
		h.encoded(s)
	default:
		h.text(s)
	}
}

// headerValue writes an extra header's value: encoded-words when it holds
// non-ASCII or control characters, else as it is (folded), because it may
// be a structured field that encoding would break.
func (h *headerWriter) headerValue(s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c >= 0x7f {
			h.encoded(s)
			return
		}
	}
	if s != "" {
		h.text(s)
	}
}

// address writes a mailbox: the display name (quoted, or encoded-words
// when it is not printable ASCII) and the addr-spec in angle brackets,
// followed by sep.
func (h *headerWriter) address(a Address, sep string) {
	if a.Name != "" {
		if !printableASCII(a.Name) || longestSegment(a.Name) > lineWidth-10 {
			h.encoded(a.Name)
		} else {
			h.tmp = appendQuoted(h.tmp[:0], a.Name)
			h.text(string(h.tmp))
		}
	}
	h.tmp = append(h.tmp[:0], '<')
	h.tmp = append(h.tmp, a.Addr...)
	h.tmp = append(h.tmp, '>')
	h.tmp = append(h.tmp, sep...)
	h.tokenBytes(h.tmp)
}

// addressList writes a field of comma-separated mailboxes.
func (h *headerWriter) addressList(name string, list []Address) {
	if len(list) == 0 {
		return
	}
	h.field(name)
	for i, a := range list {
		sep := ","
		if i == len(list)-1 {
			sep = ""
		}
		h.address(a, sep)
	}
	h.end()
}

// printableASCII reports whether s holds only printable ASCII and tabs.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c >= 0x7f {
			return false
		}
	}
	return true
}

// appendQuoted appends s as an RFC 5322 quoted-string.
func appendQuoted(dst []byte, s string) []byte {
	dst = append(dst, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			dst = append(dst, '\\')
		}
		dst = append(dst, s[i])
	}
	return append(dst, '"')
}
