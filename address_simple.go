package outbox

import "strings"

// Most addresses are plain ASCII, local@example.com, or come with a plain
// display name, Ann Smith <local@example.com>. splitSimple recognises
// exactly those, without net/mail's general parser (which allocates a
// dozen times per address); what it does not recognise takes the general
// path. Its results equal net/mail's, which a fuzz test checks.

// splitSimple returns the display name and addr-spec of s when s is a
// simple address: an addr-spec of ASCII atoms (dot-atom local part, a
// domain of letters, digits and hyphens), alone or after a name of ASCII
// atoms separated by single spaces, in angle brackets after one space.
func splitSimple(s string) (name, addr string, ok bool) {
	if isSimpleAddr(s) {
		return "", s, true
	}
	if !strings.HasSuffix(s, ">") {
		return "", "", false
	}
	i := strings.LastIndex(s, " <")
	if i <= 0 {
		return "", "", false
	}
	name, addr = s[:i], s[i+2:len(s)-1]
	if !isSimpleName(name) || !isSimpleAddr(addr) {
		return "", "", false
	}
	return name, addr, true
}

// isSimpleAddr reports whether s is local@domain with a dot-atom local
// part and a domain of dot-separated labels of letters, digits and
// hyphens: an addr-spec net/mail returns unchanged.
func isSimpleAddr(s string) bool {
	at := strings.IndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return false
	}
	return isRuns(s[:at], '.', isAtext) && isRuns(s[at+1:], '.', isLabelChar)
}

// isRuns reports whether s is runs of characters that ok accepts,
// separated by single sep characters.
func isRuns(s string, sep byte, ok func(byte) bool) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == sep:
			if run == 0 {
				return false
			}
			run = 0
		case ok(c):
			run++
		default:
			return false
		}
	}
	return run > 0
}

// isSimpleName reports whether s is words of atext separated by single
// spaces, none of them an RFC 2047 encoded word (which net/mail decodes).
func isSimpleName(s string) bool {
	return !strings.Contains(s, "=?") && isRuns(s, ' ', isAtext)
}

// isAtext reports whether c is an RFC 5322 atext character in ASCII.
func isAtext(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0
}

// isLabelChar reports whether c may appear in a domain label.
func isLabelChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-'
}
