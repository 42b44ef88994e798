package httpapi

import (
	"crypto/sha256"
	"crypto/subtle"
	"net/http"
	"strings"
)

// hashTokens keeps the SHA-256 of each token, so that every comparison is
// between equal-length values and leaks nothing about a token's length.
// Empty tokens are dropped: they never match.
func hashTokens(tokens []string) [][32]byte {
	out := make([][32]byte, 0, len(tokens))
	for _, t := range tokens {
		if t != "" {
			out = append(out, sha256.Sum256([]byte(t)))
		}
	}
	return out
}

// authorize wraps h with the bearer-token check; with no tokens configured
// it returns h unchanged.
func (s *server) authorize(h http.HandlerFunc) http.Handler {
	if !s.auth {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !s.authorized(r.Header.Get("Authorization")) {
			s.writeError(w, r, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized,
				Message: "missing or invalid bearer token (send Authorization: Bearer <token>)"})
			return
		}
		h(w, r)
	})
}

// authorized reports whether an Authorization header carries one of the
// tokens. Every token is compared, in constant time.
func (s *server) authorized(header string) bool {
	const scheme = "bearer "
	if len(header) <= len(scheme) || !strings.EqualFold(header[:len(scheme)], scheme) {
		return false
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(header[len(scheme):])))
	match := 0
	for i := range s.tokens {
		match |= subtle.ConstantTimeCompare(sum[:], s.tokens[i][:])
	}
	return match == 1
}
