package backend

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/outboxmail/outbox"
)

// Opener builds a backend from its parsed URL. It should check everything
// it can (unknown query parameters, bad values) but connect to nothing:
// backends connect lazily, on the first Send.
type Opener func(u *url.URL) (outbox.Backend, error)

// Schemes maps URL schemes, in lower case and without the colon, to the
// openers of their backends.
type Schemes map[string]Opener

// Names returns the schemes in sorted order.
func (s Schemes) Names() []string {
	names := make([]string, 0, len(s))
	for name := range s {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Open parses raw as one backend URL ("scheme:opaque" or
// "scheme://authority/path?query"; "console:" has an empty opaque part)
// and opens it with the opener of its scheme. Blanks around raw are
// ignored. The error names the problem: an empty string, a URL that does
// not parse, a missing scheme, or an unknown one (listing those known),
// or the opener's own error, prefixed with the URL without its password.
//
// Open reads the url alternative of the backend grammar. Named backends
// and combinators ("fanout(A B)") are parsed in front of it, by a parser
// that calls Open for each URL it meets.
func Open(raw string, schemes Schemes) (outbox.Backend, error) {
	u, err := ParseURL(raw)
	if err != nil {
		return nil, err
	}
	open, ok := schemes[u.Scheme]
	if !ok {
		known := "none"
		if len(schemes) > 0 {
			known = strings.Join(schemes.Names(), ", ")
		}
		return nil, fmt.Errorf("backend %s: unknown scheme %q (known: %s)", display(u), u.Scheme, known)
	}
	b, err := open(u)
	if err != nil {
		return nil, fmt.Errorf("backend %s: %w", display(u), err)
	}
	if b == nil {
		return nil, fmt.Errorf("backend %s: the %s opener returned no backend", display(u), u.Scheme)
	}
	return b, nil
}

// ParseURL parses raw as a backend URL and checks its shape: not empty,
// no blank inside (a space separates backends in the grammar; write %20),
// and a scheme. Its errors never show a password.
func ParseURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("empty backend URL")
	}
	if strings.ContainsAny(raw, " \t\r\n") {
		return nil, fmt.Errorf("backend URL %q contains a blank; percent-encode it (%%20)", redact(raw))
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, password included
		}
		shown := conceal(raw)
		if shown != raw {
			// The parser's own words may quote a piece of the password
			// (an "invalid port" cut from it).
			err = errors.New("malformed user, password or host (percent-encode characters such as / ? # @ : ( ) in them)")
		}
		return nil, fmt.Errorf("backend URL %q does not parse: %w", shown, err)
	}
	if u.Scheme == "" {
		shown := redact(raw)
		hint := shown + ":"
		if strings.HasPrefix(raw, "/") {
			hint = "file://" + shown
		}
		return nil, fmt.Errorf("backend URL %q has no scheme (did you mean %q?)", shown, hint)
	}
	return u, nil
}

// display is u as errors and logs show it: without its password, also
// when what looks like one is in the opaque part ("x:://u:pw@h").
func display(u *url.URL) string { return redact(u.Redacted()) }

// conceal is redact, except that a URL whose authority has a colon but
// no "@" shows its scheme alone: it may be a URL cut short at an
// unencoded "(" or ")" in its password ("smtp://user:pa" of
// "smtp://user:pa(ss@host"), where the password cannot be told from a
// port. For errors only: it hides a host and port too.
func conceal(raw string) string {
	if shown := redact(raw); shown != raw {
		return shown
	}
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if strings.Contains(rest, ":") && !strings.Contains(rest, "@") {
		return scheme + "://…"
	}
	return raw
}

// redact hides the password of a URL that may not parse: whatever
// follows the first colon of the user information, up to the last "@"
// before the path, or, when there is none there (an unencoded "/", "?" or
// "#" in the password), up to the last "@" of the whole URL.
func redact(raw string) string {
	_, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return raw
	}
	start := len(raw) - len(rest)
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndexByte(authority, '@')
	if at < 0 {
		// An unencoded "/", "?" or "#" in the password ends the authority
		// early: take the last "@" of the rest instead (hiding too much
		// rather than too little).
		authority = rest
		if at = strings.LastIndexByte(authority, '@'); at < 0 {
			return raw
		}
	}
	colon := strings.IndexByte(authority[:at], ':')
	if colon < 0 {
		return raw
	}
	return raw[:start+colon+1] + "xxxxx" + raw[start+at:]
}
